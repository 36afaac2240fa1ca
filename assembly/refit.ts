// The refit's least squares (src/prune/refit.ts step 1) for every output neuron of a layer at once:
//   min_W 1/2 ||(X W - Y)_fit||^2  subject to  kind * (X W) <= kind * V on the bounded entries,
//   W zero off its mask (the kept weights),
// X P x n sample-major, W n x m, Y, V and kind P x m (kind 0: fitted, the program's Omega; +1: an
// upper bound z <= V, inactive ReLU outputs; -1: a lower bound z >= V, saturated ones).
// ADMM on the splitting Z = X W over every entry (Boyd et al. 2011, scaled form, over-relaxed):
//   W = argmin ||X W - (Z - U)||^2 on the mask    masked normal equations, refit-cg.ts
//   Zhat = alpha X W + (1 - alpha) Z
//   Z = (Y + rho (Zhat + U)) / (1 + rho) on fitted entries, clamped to the bound on the others
//   U += Zhat - Z
// Unlike a per-neuron splitting this keeps one system matrix, G = X^T X, for every neuron and every
// rho, so the W step is products with G and X through the gemm kernel. A layer without bounds
// (linear) is one masked least-squares solve. The caller repairs what the stopped ADMM leaves.
import { gemm } from './gemm';
import { arenaAlloc, arenaAllocF32, arenaUsed, getF, setF } from './memory';
import { gemmSymmetric } from './symmetric';
import { getThreads, limitThreads } from './threads';
import { maskedCgSolve, refitCgReserve } from './refit-cg';
import { RefitParam } from './refit-params';
import { ncgSolve } from './refit-ncg';
import { responsesF64 } from './refit-figures';

const RHO_EVERY: i32 = 10; // iterations between rho updates (residual balancing, as OSQP)
const RHO_RATIO: f64 = 5; // rho moves when the normalised residuals differ by more than this
/** CG steps of the one solve of a layer without bounds, per allowed ADMM iteration. */
const LINEAR_STEPS_PER_ITERATION: i32 = 4;

// @ts-ignore: decorator
@inline function param(block: usize, k: RefitParam): f64 {
  return load<f64>(block + (<usize>k << 3));
}
// @ts-ignore: decorator
@inline function setParam(block: usize, k: RefitParam, v: f64): void {
  store<f64>(block + (<usize>k << 3), v);
}

export function refitSolve(block: usize): void {
  const before = getThreads(), wanted = <i32>param(block, RefitParam.Threads);
  if (wanted > 0) limitThreads(min(wanted, before));
  const n = <i32>param(block, RefitParam.Rows), m = <i32>param(block, RefitParam.Cols), p = <i32>param(block, RefitParam.Samples);
  const w = <usize>param(block, RefitParam.WPtr), nm = <usize>n * m;
  // the start, on its mask, kept for its responses (refit-figures.ts)
  multiplyInPlace(w, <usize>param(block, RefitParam.MaskPtr), nm);
  const start = arenaAllocF32(nm);
  if (start == 0) {
    setParam(block, RefitParam.Status, 4);
  } else {
    memory.copy(start, w, nm << 2);
    solve(block);
    const z0 = <usize>param(block, RefitParam.Z0Ptr), z1 = <usize>param(block, RefitParam.Z1Ptr);
    if (param(block, RefitParam.Status) != 4 && z0 != 0 &&
      !responsesF64(<usize>param(block, RefitParam.XPtr), start, w, p, n, m, z0, z1)) setParam(block, RefitParam.Status, 4);
  }
  setParam(block, RefitParam.WorkspaceBytes, <f64>arenaUsed());
  limitThreads(before);
}

function solve(block: usize): void {
  const n = <i32>param(block, RefitParam.Rows), m = <i32>param(block, RefitParam.Cols), p = <i32>param(block, RefitParam.Samples);
  const x = <usize>param(block, RefitParam.XPtr), y = <usize>param(block, RefitParam.YPtr);
  const v = <usize>param(block, RefitParam.VPtr), kind = <usize>param(block, RefitParam.KindPtr);
  const mask = <usize>param(block, RefitParam.MaskPtr), w = <usize>param(block, RefitParam.WPtr);
  const bounded = param(block, RefitParam.Bounded) != 0, soft = param(block, RefitParam.Soft) != 0;
  const tol = <f32>param(block, RefitParam.Tolerance);
  const maxIter = <i32>param(block, RefitParam.MaxIterations), maxCg = <i32>param(block, RefitParam.MaxCgSteps);
  const cgTol = <f32>param(block, RefitParam.CgTol), alpha = <f32>param(block, RefitParam.Relaxation);
  const pm = <usize>p * m, nm = <usize>n * m;
  if (bounded && soft && param(block, RefitParam.Method) == 1) {
    solveSmooth(block);
    return;
  }
  const g = arenaAllocF32(<usize>n * n), diagInv = arenaAllocF32(n), rhs = arenaAllocF32(nm);
  const z = bounded ? arenaAllocF32(pm) : 0, u = bounded ? arenaAllocF32(pm) : 0;
  const xw = bounded ? arenaAllocF32(pm) : 0, t = bounded ? arenaAllocF32(pm) : 0;
  const ok = refitCgReserve(n, m) && rhs != 0 && (!bounded || t != 0);
  setParam(block, RefitParam.WorkspaceBytes, <f64>arenaUsed());
  if (!ok) { setParam(block, RefitParam.Status, 4); return; }

  // G = X^T X with a ridge (RefitParam.Ridge of its largest diagonal entry): inputs that are zero
  // in every sample get a solvable row (their weight goes to 0, as with the JavaScript Cholesky).
  gemmSymmetric(g, x, 1, n, x, n, n, p);
  let maxDiag: f32 = 0;
  for (let i = 0; i < n; i++) maxDiag = max(maxDiag, getF(g, <usize>i * (n + 1)));
  if (!(maxDiag > 0)) { setParam(block, RefitParam.Status, 0); return; } // no signal: W stays
  const ridge = <f32>param(block, RefitParam.Ridge) * maxDiag;
  for (let i = 0; i < n; i++) {
    const d = getF(g, <usize>i * (n + 1)) + ridge;
    setF(g, <usize>i * (n + 1), d);
    setF(diagInv, i, 1 / d);
  }

  let it = 0, cgSteps = 0;
  if (!bounded) {
    // rhs = X^T Y, one masked solve
    gemm(rhs, m, x, 1, n, y, m, n, m, p, false);
    cgSteps = maskedCgSolve(g, diagInv, mask, w, rhs, n, m, maxIter * LINEAR_STEPS_PER_ITERATION, cgTol);
    setParam(block, RefitParam.Status, 0);
    setParam(block, RefitParam.Iterations, 0);
    setParam(block, RefitParam.CgSteps, <f64>cgSteps);
    return;
  }

  // rho per output neuron (column): it appears in the Z step only, so each neuron balances its own
  // residuals for free (the W step's system does not change)
  const rho = arenaAllocF32(m), stats = arenaAlloc(<usize>m * STATS * 8);
  if (stats == 0) { setParam(block, RefitParam.Status, 4); return; }
  const rho0 = <f32>(param(block, RefitParam.Rho) > 0 ? param(block, RefitParam.Rho) : 1);
  for (let j = 0; j < m; j++) setF(rho, j, rho0);
  gemm(xw, m, x, n, 1, w, m, p, m, n, false);
  startSplit(z, xw, v, kind, pm);
  let violation: f64 = 0;
  while (it < maxIter) {
    it++;
    setParam(block, RefitParam.Iterations, <f64>it); // read by refitAsync's progress poll
    // W step: masked X^T X W = X^T (Z - U), warm-started at the last W
    differenceInto(t, z, u, pm);
    gemm(rhs, m, x, 1, n, t, m, n, m, p, false);
    cgSteps += maskedCgSolve(g, diagInv, mask, w, rhs, n, m, maxCg, cgTol);
    gemm(xw, m, x, n, 1, w, m, p, m, n, false);
    updateSplit(z, u, xw, y, v, kind, p, m, rho, alpha, stats, soft);
    violation = worstViolation;
    // primal (X W = Z, the bounds) and dual (Z settled) within the tolerance. Settling Z to a
    // quarter of it kept mnist-mlp layer 1 going to 300 iterations (0.6x the float64 code's CPU
    // instead of 1.8x, bench/README.md)
    if (worstGap <= <f64>tol && worstViolation <= <f64>tol && worstChange <= <f64>tol) break;
    if (it % RHO_EVERY == 0) balance(u, rho, stats, p, m);
  }
  setParam(block, RefitParam.Status, 0);
  setParam(block, RefitParam.Iterations, <f64>it);
  setParam(block, RefitParam.CgSteps, <f64>cgSteps);
  setParam(block, RefitParam.MaxViolation, violation);
}

/** Soft bounds by nonlinear CG on the smooth objective (refit-ncg.ts): no Gram matrix, no splitting. */
function solveSmooth(block: usize): void {
  const it = ncgSolve(block);
  setParam(block, RefitParam.WorkspaceBytes, <f64>arenaUsed());
  setParam(block, RefitParam.Status, it < 0 ? 4 : 0);
  setParam(block, RefitParam.Iterations, <f64>max(it, 0));
  setParam(block, RefitParam.CgSteps, 0);
  setParam(block, RefitParam.MaxViolation, 0);
}

/** Z = X W clamped to the bounds (fitted entries keep X W). */
function startSplit(z: usize, xw: usize, v: usize, kind: usize, count: usize): void {
  for (let e: usize = 0; e < count; e++) {
    const k = getF(kind, e), a = getF(xw, e), b = getF(v, e);
    setF(z, e, k > 0 ? min(a, b) : k < 0 ? max(a, b) : a);
  }
}

// Per column of the last updateSplit, f64: ||X W - Z||^2, ||X W||^2, ||Z||^2, ||dZ||^2, ||U||^2,
// ||Y||^2 on fitted entries; and over all, the largest bound violation of X W, |X W - Z| and |dZ|.
const STATS: i32 = 6;
let worstViolation: f64 = 0, worstGap: f64 = 0, worstChange: f64 = 0;

// @ts-ignore: decorator
@inline function stat(stats: usize, j: i32, k: i32): usize {
  return stats + ((<usize>j * STATS + k) << 3);
}

/** The Z and U steps of the header, entry by entry (rho per column), with the figures above. */
function updateSplit(
  z: usize, u: usize, xw: usize, y: usize, v: usize, kind: usize, p: i32, m: i32, rho: usize, alpha: f32, stats: usize,
  soft: bool,
): void {
  let worst: f32 = 0, gap: f32 = 0, change: f32 = 0;
  memory.fill(stats, 0, <usize>m * STATS * 8);
  const keep: f32 = 1 - alpha;
  for (let s = 0; s < p; s++) {
    const row = <usize>s * m;
    for (let j = 0; j < m; j++) {
      const e = row + j;
      const k = getF(kind, e), a = getF(xw, e), old = getF(z, e);
      const hat = alpha * a + keep * old, t = hat + getF(u, e);
      let next: f32;
      if (k == 0) {
        const target = getF(y, e), r = getF(rho, j);
        next = (target + r * t) / (1 + r);
        store<f64>(stat(stats, j, 5), load<f64>(stat(stats, j, 5)) + <f64>(target * target));
      } else if (soft) {
        // prox of 1/2 max(0, k (z - V))^2: the fit's formula with target V, on the wrong side only
        const bound = getF(v, e), r = getF(rho, j);
        next = k * (t - bound) > 0 ? (bound + r * t) / (1 + r) : t;
      } else {
        const bound = getF(v, e);
        next = k > 0 ? min(t, bound) : max(t, bound);
        worst = max(worst, k * (a - bound));
      }
      const un = t - next;
      setF(z, e, next);
      setF(u, e, un);
      const r = a - next, dz = next - old;
      gap = max(gap, abs(r));
      change = max(change, abs(dz));
      store<f64>(stat(stats, j, 0), load<f64>(stat(stats, j, 0)) + <f64>(r * r));
      store<f64>(stat(stats, j, 1), load<f64>(stat(stats, j, 1)) + <f64>(a * a));
      store<f64>(stat(stats, j, 2), load<f64>(stat(stats, j, 2)) + <f64>(next * next));
      store<f64>(stat(stats, j, 3), load<f64>(stat(stats, j, 3)) + <f64>(dz * dz));
      store<f64>(stat(stats, j, 4), load<f64>(stat(stats, j, 4)) + <f64>(un * un));
    }
  }
  worstViolation = <f64>worst; worstGap = <f64>gap; worstChange = <f64>change;
}

/**
 * Residual balancing per column (as OSQP) on the normalised residuals: primal ||XW - Z|| /
 * max(||XW||, ||Z||), dual rho ||dZ|| / max(rho ||U||, ||Y||) (the dual in sample space, before the
 * product with X^T). The column's scaled dual U is rescaled with its rho.
 */
function balance(u: usize, rho: usize, stats: usize, p: i32, m: i32): void {
  for (let j = 0; j < m; j++) {
    const r = <f64>getF(rho, j);
    const primal = Math.sqrt(load<f64>(stat(stats, j, 0))) /
      Math.max(Math.sqrt(Math.max(load<f64>(stat(stats, j, 1)), load<f64>(stat(stats, j, 2)))), 1e-30);
    const dual = r * Math.sqrt(load<f64>(stat(stats, j, 3))) /
      Math.max(Math.max(r * Math.sqrt(load<f64>(stat(stats, j, 4))), Math.sqrt(load<f64>(stat(stats, j, 5)))), 1e-30);
    if (!(primal > 0) || !(dual > 0)) continue;
    const ratio = Math.sqrt(primal / dual);
    if (ratio > RHO_RATIO || ratio < 1 / RHO_RATIO) {
      const next = r * Math.min(100, Math.max(0.01, ratio));
      const f = <f32>(r / next);
      for (let s = 0; s < p; s++) { const e = <usize>s * m + j; setF(u, e, getF(u, e) * f); }
      setF(rho, j, <f32>next);
    }
  }
}

/** out = a - b. */
function differenceInto(out: usize, a: usize, b: usize, count: usize): void {
  if (ASC_FEATURE_SIMD) {
    for (let e: usize = 0; e < count; e += 4) {
      const o = e << 2;
      v128.store(out + o, f32x4.sub(v128.load(a + o), v128.load(b + o)));
    }
    return;
  }
  for (let e: usize = 0; e < count; e++) setF(out, e, getF(a, e) - getF(b, e));
}

function multiplyInPlace(a: usize, b: usize, count: usize): void {
  for (let e: usize = 0; e < count; e++) setF(a, e, getF(a, e) * getF(b, e));
}

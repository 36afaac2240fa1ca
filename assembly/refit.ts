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
import { arenaAllocF32, arenaUsed, getF, setF } from './memory';
import { gemmSymmetric } from './symmetric';
import { getThreads, limitThreads } from './threads';
import { maskedCgSolve, refitCgReserve } from './refit-cg';
import { RefitParam } from './refit-params';

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
  solve(block);
  limitThreads(before);
}

function solve(block: usize): void {
  const n = <i32>param(block, RefitParam.Rows), m = <i32>param(block, RefitParam.Cols), p = <i32>param(block, RefitParam.Samples);
  const x = <usize>param(block, RefitParam.XPtr), y = <usize>param(block, RefitParam.YPtr);
  const v = <usize>param(block, RefitParam.VPtr), kind = <usize>param(block, RefitParam.KindPtr);
  const mask = <usize>param(block, RefitParam.MaskPtr), w = <usize>param(block, RefitParam.WPtr);
  const bounded = param(block, RefitParam.Bounded) != 0;
  const tol = <f32>param(block, RefitParam.Tolerance);
  const maxIter = <i32>param(block, RefitParam.MaxIterations), maxCg = <i32>param(block, RefitParam.MaxCgSteps);
  const cgTol = <f32>param(block, RefitParam.CgTol), alpha = <f32>param(block, RefitParam.Relaxation);
  const pm = <usize>p * m, nm = <usize>n * m;
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
  multiplyInPlace(w, mask, nm);

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

  let rho: f64 = 1;
  gemm(xw, m, x, n, 1, w, m, p, m, n, false);
  startSplit(z, xw, v, kind, pm);
  let violation: f64 = 0;
  while (it < maxIter) {
    it++;
    // W step: masked X^T X W = X^T (Z - U), warm-started at the last W
    differenceInto(t, z, u, pm);
    gemm(rhs, m, x, 1, n, t, m, n, m, p, false);
    cgSteps += maskedCgSolve(g, diagInv, mask, w, rhs, n, m, maxCg, cgTol);
    gemm(xw, m, x, n, 1, w, m, p, m, n, false);
    updateSplit(z, u, xw, y, v, kind, pm, <f32>rho, alpha);
    violation = sumA;
    if (sumB <= <f64>tol / 2 && sumA <= <f64>tol / 2) break;
    if (it % RHO_EVERY != 0) continue;
    // Residual balancing on the normalised residuals: primal ||XW - Z|| / max(||XW||, ||Z||),
    // dual rho ||dZ|| / max(rho ||U||, ||Y||) (the dual in sample space, before the product with X^T)
    const primal = Math.sqrt(sumC) / Math.max(Math.sqrt(Math.max(sumD, sumE)), 1e-30);
    const dual = rho * Math.sqrt(sumF) / Math.max(Math.max(rho * Math.sqrt(sumG), Math.sqrt(sumH)), 1e-30);
    const ratio = Math.sqrt(primal / Math.max(dual, 1e-30));
    if (ratio > RHO_RATIO || ratio < 1 / RHO_RATIO) {
      const next = rho * Math.min(100, Math.max(0.01, ratio));
      scaleInPlace(u, pm, <f32>(rho / next));
      rho = next;
    }
  }
  setParam(block, RefitParam.Status, 0);
  setParam(block, RefitParam.Iterations, <f64>it);
  setParam(block, RefitParam.CgSteps, <f64>cgSteps);
  setParam(block, RefitParam.MaxViolation, violation);
}

/** Z = X W clamped to the bounds (fitted entries keep X W). */
function startSplit(z: usize, xw: usize, v: usize, kind: usize, count: usize): void {
  for (let e: usize = 0; e < count; e++) {
    const k = getF(kind, e), a = getF(xw, e), b = getF(v, e);
    setF(z, e, k > 0 ? min(a, b) : k < 0 ? max(a, b) : a);
  }
}

// Sums of the last updateSplit, f64: A largest bound violation of X W, B largest |X W - Z|,
// C ||X W - Z||^2, D ||X W||^2, E ||Z||^2, F ||dZ||^2, G ||U||^2, H ||Y||^2 on fitted entries.
let sumA: f64 = 0, sumB: f64 = 0, sumC: f64 = 0, sumD: f64 = 0, sumE: f64 = 0, sumF: f64 = 0, sumG: f64 = 0, sumH: f64 = 0;

/** The Z and U steps of the header, entry by entry, with the figures above. */
function updateSplit(z: usize, u: usize, xw: usize, y: usize, v: usize, kind: usize, count: usize, rho: f32, alpha: f32): void {
  let worst: f32 = 0, gap: f32 = 0;
  let c: f64 = 0, d: f64 = 0, ez: f64 = 0, f: f64 = 0, gu: f64 = 0, gy: f64 = 0;
  const keep: f32 = 1 - alpha, fit: f32 = 1 / (1 + rho);
  for (let e: usize = 0; e < count; e++) {
    const k = getF(kind, e), a = getF(xw, e), old = getF(z, e);
    const hat = alpha * a + keep * old, t = hat + getF(u, e);
    let next: f32;
    if (k == 0) {
      const target = getF(y, e);
      next = (target + rho * t) * fit;
      gy += <f64>(target * target);
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
    c += <f64>(r * r); d += <f64>(a * a); ez += <f64>(next * next); f += <f64>(dz * dz); gu += <f64>(un * un);
  }
  sumA = <f64>worst; sumB = <f64>gap; sumC = c; sumD = d; sumE = ez; sumF = f; sumG = gu; sumH = gy;
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

function scaleInPlace(a: usize, count: usize, s: f32): void {
  for (let e: usize = 0; e < count; e++) setF(a, e, getF(a, e) * s);
}

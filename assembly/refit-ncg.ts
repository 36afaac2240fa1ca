// The soft-bounded refit (refit.ts with RefitParam.Soft) solved directly: its objective
//   f(W) = 1/2 ||(X W - Y) on fitted entries||^2 + 1/2 ||max(0, kind (X W - V)) on bounded ones||^2,
// W zero off the mask, is smooth (a piecewise quadratic with a Lipschitz gradient) and separable by
// output neuron, so every column runs its own preconditioned nonlinear conjugate gradients
// (Polak-Ribiere+, Jacobi preconditioner), all columns side by side through the gemm kernel:
//   R = residual of Z (Z = X W carried)          gradient = mask * X^T R    (one P x n x m product)
//   S = mask * H^-1 gradient, D = -S + beta D      A = X D                  (one product)
//   t per column by exact line search on the piecewise quadratic (refit-line.ts), W += t D, Z += t A
// Two products per iteration, where the ADMM (refit.ts) takes two plus up to four masked CG steps on
// the n x n Gram matrix, and no Gram matrix at all. Every step lowers f (the line search keeps the
// best evaluated point), so stopping early at an iteration budget still returns an improvement.
import { gemm } from './gemm';
import { arenaAlloc, arenaAllocF32, getF, setF } from './memory';
import { scaleAdd } from './refit-cg';
import { lineScratchBytes, lineSearch } from './refit-line';
import { directionPass, passScratchBytes, preconditionPass, residualPass, usePassScratch } from './refit-passes';
import { RefitParam } from './refit-params';

/** Iterations between recomputing Z = X W exactly (float32 updates drift; the directions carry on). */
const REFRESH_EVERY: i32 = 50;
/** The stall test compares f with its value this many iterations back. */
const WINDOW: i32 = 10;

/** Per-iteration trace: f, the preconditioned gradient norm sum_j g.S, line-search passes, open columns. */
export const NCG_TRACE_FIELDS: i32 = 4;

// Per-column f64 state, NCG_FIELDS per column.
const F: i32 = 0, GS: i32 = 1, GS_PREV: i32 = 2, CROSS: i32 = 3, SLOPE: i32 = 4, GS_START: i32 = 5;
const SEARCH: i32 = 6, STEP: i32 = 7, RESTARTED: i32 = 8, DONE: i32 = 9;
const NCG_FIELDS: i32 = 10;

// @ts-ignore: decorator
@inline function col(state: usize, j: i32, k: i32): usize {
  return state + ((<usize>j * NCG_FIELDS + k) << 3);
}

// The problem, read from the refit's parameter block (no objects: the arena owns the heap).
let px: usize = 0, py: usize = 0, pv: usize = 0, pkind: usize = 0, pmask: usize = 0, pw: usize = 0;
let perColumn = true, ridge: f32 = 0, tolerance: f64 = 0, stall: f64 = 0, traceAt: usize = 0, traceCapacity: i32 = 0;
const HISTORY: usize = memory.data(80, 8); // WINDOW f64 values (static data: the arena owns the heap)

// @ts-ignore: decorator
@inline function param(block: usize, k: RefitParam): f64 {
  return load<f64>(block + (<usize>k << 3));
}

/**
 * Runs the iteration on the refit's problem (block: RefitParam; sizes padded, W in place). Settings
 * read: MaxIterations, Stall (stop when f fell by less than Stall f over the last WINDOW iterations),
 * CgTol (a column stops once its g.S is below CgTol^2 of its start), Ridge (the
 * preconditioner's floor), PerColumn, the trace. Writes the iteration count to Iterations as it goes.
 * Returns the iterations made, or -1 when memory cannot grow.
 */
export function ncgSolve(block: usize): i32 {
  const n = <i32>param(block, RefitParam.Rows), m = <i32>param(block, RefitParam.Cols), p = <i32>param(block, RefitParam.Samples);
  px = <usize>param(block, RefitParam.XPtr); py = <usize>param(block, RefitParam.YPtr); pv = <usize>param(block, RefitParam.VPtr);
  pkind = <usize>param(block, RefitParam.KindPtr); pmask = <usize>param(block, RefitParam.MaskPtr); pw = <usize>param(block, RefitParam.WPtr);
  perColumn = param(block, RefitParam.PerColumn) != 0;
  ridge = <f32>param(block, RefitParam.Ridge);
  tolerance = param(block, RefitParam.CgTol);
  stall = param(block, RefitParam.Stall);
  traceAt = <usize>param(block, RefitParam.TracePtr);
  traceCapacity = <i32>param(block, RefitParam.TraceCapacity);
  const maxIterations = <i32>param(block, RefitParam.MaxIterations), progress = block + (<usize>RefitParam.Iterations << 3);
  const pm = <usize>p * m, nm = <usize>n * m;
  const z = arenaAllocF32(pm), r = arenaAllocF32(pm), a = arenaAllocF32(pm);
  const grad = arenaAllocF32(nm), sNew = arenaAllocF32(nm), sOld = arenaAllocF32(nm), dir = arenaAllocF32(nm);
  const hinv = arenaAllocF32(perColumn ? nm : <usize>n);
  const state = arenaAlloc(<usize>m * NCG_FIELDS * 8), lines = arenaAlloc(lineScratchBytes(m));
  const flags = arenaAlloc(<usize>m * 8), steps = arenaAlloc(<usize>m * 8), stepF = arenaAllocF32(m), betas = arenaAllocF32(m);
  const passes = arenaAlloc(passScratchBytes(m));
  if (passes == 0) return -1;
  usePassScratch(passes);
  memory.fill(state, 0, <usize>m * NCG_FIELDS * 8);
  gemm(z, m, px, n, 1, pw, m, p, m, n, false);
  if (!preconditioner(p, n, m, z, hinv)) return -1;

  let s = sNew, sPrev = sOld, it = 0;
  while (it < maxIterations) {
    if (progress != 0) store<f64>(progress, <f64>it);
    if (it > 0 && it % REFRESH_EVERY == 0) gemm(z, m, px, n, 1, pw, m, p, m, n, false);
    for (let j = 0; j < m; j++) {
      store<f64>(col(state, j, F), 0);
      store<f64>(col(state, j, GS_PREV), load<f64>(col(state, j, GS)));
      store<f64>(col(state, j, GS), 0);
      store<f64>(col(state, j, CROSS), 0);
    }
    residualPass(r, z, py, pv, pkind, p, m, col(state, 0, F), NCG_FIELDS << 3);
    gemm(grad, m, px, 1, n, r, m, n, m, p, false);
    preconditionPass(grad, s, sPrev, pmask, hinv, !perColumn, n, m, col(state, 0, GS), col(state, 0, CROSS), NCG_FIELDS << 3);
    let open = 0;
    for (let j = 0; j < m; j++) {
      const gs = load<f64>(col(state, j, GS));
      if (it == 0) store<f64>(col(state, j, GS_START), gs);
      const live = load<f64>(col(state, j, DONE)) == 0 && gs > 0 &&
        gs > tolerance * tolerance * load<f64>(col(state, j, GS_START));
      store<f64>(col(state, j, SEARCH), live ? 1 : 0);
      store<f64>(flags + (<usize>j << 3), live ? 1 : 0);
      if (live) open++;
    }
    const f = total(state, m, F);
    if (traceAt != 0 && it < traceCapacity) traceIteration(traceAt, it, f, total(state, m, GS), open);
    if (open == 0) break;
    // stalled: f fell by less than `stall` of itself over the last WINDOW iterations
    const slot = HISTORY + (<usize>(it % WINDOW) << 3);
    if (it >= WINDOW && load<f64>(slot) - f <= stall * f) break;
    store<f64>(slot, f);
    direction(dir, s, grad, betas, n, m, state, it == 0);
    gemm(a, m, px, n, 1, dir, m, p, m, n, false);
    const searched = lineSearch(z, a, py, pv, pkind, p, m, flags, steps, lines);
    if (traceAt != 0 && it < traceCapacity) store<f64>(traceAt + ((<usize>it * NCG_TRACE_FIELDS + 2) << 3), <f64>searched);
    let moved = false;
    for (let j = 0; j < m; j++) {
      const t = load<f64>(steps + (<usize>j << 3));
      setF(stepF, j, <f32>t);
      if (t > 0) moved = true;
      else if (load<f64>(col(state, j, SEARCH)) != 0) {
        // no progress: restart along -S, or stop the column if that was -S already
        if (load<f64>(col(state, j, RESTARTED)) != 0) store<f64>(col(state, j, DONE), 1);
        else store<f64>(col(state, j, GS), 0);
      }
    }
    if (!moved) break;
    scaleAdd(pw, pw, stepF, dir, n, m); // W += t D
    scaleAdd(z, z, stepF, a, p, m); // Z += t A
    const swap = s; s = sPrev; sPrev = swap;
    it++;
  }
  return it;
}

/**
 * H^-1 into `hinv`: per column (perColumn), 1 / sum over the samples the column fits or penalises at
 * the start of x_pi^2 (the diagonal of its own Hessian then); else 1 / diag(X^T X). Floored at the
 * ridge (of the largest diagonal entry): an input silent on every counted sample gets a finite scale.
 */
function preconditioner(p: i32, n: i32, m: i32, z: usize, hinv: usize): bool {
  const xsq = arenaAllocF32(<usize>p * n);
  if (xsq == 0) return false;
  for (let e: usize = 0; e < <usize>p * n; e++) { const q = getF(px, e); setF(xsq, e, q * q); }
  if (!perColumn) {
    const ones = arenaAllocF32(<usize>p * 8);
    const diag = arenaAllocF32(<usize>n * 8);
    if (diag == 0) return false;
    for (let s = 0; s < p; s++) setF(ones, <usize>s * 8, 1);
    gemm(diag, 8, xsq, 1, n, ones, 8, n, 8, p, false);
    let top: f32 = 0;
    for (let i = 0; i < n; i++) top = max(top, getF(diag, <usize>i * 8));
    const floor = max(ridge * top, 1e-30);
    for (let i = 0; i < n; i++) setF(hinv, i, 1 / max(getF(diag, <usize>i * 8), floor));
    return true;
  }
  // counted: fitted entries and bounded ones past their bound at the start
  const counted = arenaAllocF32(<usize>p * m);
  if (counted == 0) return false;
  for (let e: usize = 0; e < <usize>p * m; e++) {
    const k = getF(pkind, e);
    setF(counted, e, k == 0 || k * (getF(z, e) - getF(pv, e)) > 0 ? 1 : 0);
  }
  gemm(hinv, m, xsq, 1, n, counted, m, n, m, p, false);
  let top: f32 = 0;
  for (let e: usize = 0; e < <usize>n * m; e++) top = max(top, getF(hinv, e));
  const floor = max(ridge * top, 1e-30);
  for (let e: usize = 0; e < <usize>n * m; e++) setF(hinv, e, 1 / max(getF(hinv, e), floor));
  return true;
}

/**
 * dir = -s + beta dir per searching column (Polak-Ribiere+: beta = max(0, (g.s - g.sPrev) / gPrev.sPrev),
 * 0 on a restart), zero on the others; a column whose dir is not downhill restarts along -s.
 */
function direction(dir: usize, s: usize, grad: usize, betas: usize, n: i32, m: i32, state: usize, restart: bool): void {
  for (let j = 0; j < m; j++) {
    const prev = load<f64>(col(state, j, GS_PREV));
    let beta: f64 = 0;
    if (!restart && prev > 0) beta = Math.max(0, (load<f64>(col(state, j, GS)) - load<f64>(col(state, j, CROSS))) / prev);
    if (load<f64>(col(state, j, SEARCH)) == 0) beta = -1; // the column stays still
    setF(betas, j, <f32>beta);
    store<f64>(col(state, j, RESTARTED), beta == 0 ? 1 : 0);
    store<f64>(col(state, j, SLOPE), 0);
  }
  directionPass(dir, s, grad, betas, n, m, col(state, 0, SLOPE), NCG_FIELDS << 3);
  // rare (beta > 0 but not downhill): those columns restart along -s
  for (let j = 0; j < m; j++) {
    if (!(getF(betas, j) > 0) || load<f64>(col(state, j, SLOPE)) < 0) continue;
    store<f64>(col(state, j, RESTARTED), 1);
    for (let i = 0; i < n; i++) { const e = <usize>i * m + j; setF(dir, e, -getF(s, e)); }
  }
}

function total(state: usize, m: i32, k: i32): f64 {
  let sum: f64 = 0;
  for (let j = 0; j < m; j++) sum += load<f64>(col(state, j, k));
  return sum;
}

function traceIteration(trace: usize, it: i32, f: f64, gs: f64, open: i32): void {
  const base = trace + ((<usize>it * NCG_TRACE_FIELDS) << 3);
  store<f64>(base, f);
  store<f64>(base + 8, gs);
  store<f64>(base + 24, <f64>open);
}

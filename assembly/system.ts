// The W3 step of the ADMM (method.md section 3):
//   W3 = argmin ||B - X W3||^2 + ||B2 - W3||^2,  i.e.  (I + X^T X) W3 = X^T B + B2,
// with B = W1hat + U1 (P x M) and B2 = W2hat + U2 (N x M), and the product T = X W3 the next
// iteration needs. X is sample-major (P x N). Two forms, chosen by shape:
//  - tall (P >= N): CG on the N x N system A = I + X^T X, formed once;
//  - wide (P < N): matrix-free in N: by the push-through identity
//      W3 = B2 + X^T C,  C = K^{-1} (B - X B2),  K = I + X X^T (P x P),  and  X W3 = B - C,
//    so only the P x P system is solved and X^T X is never formed.
// Either system is solved by CG preconditioned with a Newton-Schulz approximate inverse; in the wide
// form, when that inverse is good, by one Richardson step instead (cg.ts: richardsonStep), which
// saves the P x P product with K (as costly as a product with X) on all but every REFRESH-th step.
import { gemm } from './gemm';
import { arenaAllocF32, getF, setF } from './memory';
import { cgReserve, cgSolve, richardsonStep } from './cg';
import { newtonSchulzInverse } from './inverse';
import { gemmSymmetric, gemmUpper, mirrorUpper } from './symmetric';

// Columns of X per pass of the wide Gram matrix (the transposed block must fit the p x p scratch).
const GRAM_DEPTH: i32 = 256;
// The wide form takes Richardson steps when ||I - K Z||_F is below this, with K C recomputed
// exactly every RICHARDSON_REFRESH steps (bench/wide.ts measures both against CG).
const RICHARDSON_RESIDUAL: f32 = 0.05;
const RICHARDSON_REFRESH: i32 = 4;
let richardson = false;
let sinceRefresh: i32 = 0;

let tall = true;

let size: i32 = 0; // order of the system: N (tall) or P (wide)
let sys: usize = 0, sysInv: usize = 0, rhs: usize = 0, unknown: usize = 0;

/**
 * Reserves the workspace for an n x m layer with p samples; false when memory cannot grow.
 * `gram`: the Gram form (gram.ts) runs, which needs the tall system whatever p is.
 */
export function systemReserve(n: i32, m: i32, p: i32, gram: bool): bool {
  tall = gram || p >= n;
  size = tall ? n : p;
  const sq = <usize>size * size;
  sys = arenaAllocF32(sq);
  sysInv = arenaAllocF32(sq);
  rhs = arenaAllocF32(<usize>size * m);
  unknown = tall ? 0 : arenaAllocF32(<usize>p * m);
  return cgReserve(size, m) && rhs != 0 && (tall || unknown != 0);
}

/** n x n or p x p floats the set-up needs as scratch (twice). */
export function systemScratchCount(): usize {
  return <usize>size * size;
}

/**
 * Forms the system matrix from the scaled X and its approximate inverse; returns ||I - A Z||_F.
 * scratchA and scratchB are two blocks of systemScratchCount() floats the caller lends for this
 * one-time work; they are zeroed afterwards. `formed`: the caller wrote I + X^T X into
 * systemMatrix() already (the Gram form, in float64).
 */
export function systemSetup(x: usize, n: i32, p: i32, scratchA: usize, scratchB: usize, formed: bool): f32 {
  if (!formed) {
    if (tall) gemmSymmetric(sys, x, 1, n, x, n, n, p); // X^T X
    else rowGram(sys, x, p, n, scratchA); // X X^T
    for (let i = 0; i < size; i++) setF(sys, <usize>i * (size + 1), getF(sys, <usize>i * (size + 1)) + 1);
  }
  const res = newtonSchulzInverse(sys, sysInv, scratchA, scratchB, size);
  richardson = !tall && res < RICHARDSON_RESIDUAL;
  sinceRefresh = 0;
  const bytes = (<usize>size * size) << 2;
  memory.fill(scratchA, 0, bytes);
  memory.fill(scratchB, 0, bytes);
  return res;
}

/**
 * W3 from B (u1) and B2 (u2); writes X W3 into tNew. Returns the CG steps taken.
 * `refresh` recomputes CG's carried product exactly (against rounding drift).
 */
export function updateW3(
  x: usize, b: usize, b2: usize, w3: usize, tNew: usize, n: i32, m: i32, p: i32,
  maxCg: i32, cgTol: f32, refresh: bool,
): i32 {
  const pm = <usize>p * m, nm = <usize>n * m;
  if (tall) {
    gemm(rhs, m, x, 1, n, b, m, n, m, p, false); // X^T B
    addInto(rhs, b2, nm);
    const steps = cgSolve(sys, sysInv, w3, rhs, n, m, maxCg, cgTol, refresh);
    gemm(tNew, m, x, n, 1, w3, m, p, m, n, false); // X W3
    return steps;
  }
  gemm(tNew, m, x, n, 1, b2, m, p, m, n, false); // X B2
  for (let e: usize = 0; e < pm; e++) setF(rhs, e, getF(b, e) - getF(tNew, e));
  let steps = 1;
  if (richardson) {
    const exact = refresh || ++sinceRefresh >= RICHARDSON_REFRESH;
    if (exact) sinceRefresh = 0;
    richardsonStep(sys, sysInv, unknown, rhs, p, m, exact);
  } else {
    steps = cgSolve(sys, sysInv, unknown, rhs, p, m, maxCg, cgTol, refresh);
  }
  memory.copy(w3, b2, nm << 2);
  gemm(w3, m, x, 1, n, unknown, m, n, m, p, true); // W3 = B2 + X^T C
  for (let e: usize = 0; e < pm; e++) setF(tNew, e, getF(b, e) - getF(unknown, e)); // X W3 = B - C
  return steps;
}

/** The tall system's matrix I + X^T X and its right-hand side block (the Gram form fills it). */
export function systemMatrix(): usize {
  return sys;
}
export function systemRhs(): usize {
  return rhs;
}

/** The tall form's W3 from the right-hand side already in systemRhs(); returns the CG steps. */
export function solveW3(w3: usize, n: i32, m: i32, maxCg: i32, cgTol: f32, refresh: bool): i32 {
  return cgSolve(sys, sysInv, w3, rhs, n, m, maxCg, cgTol, refresh);
}

/**
 * Improves W (n x m) toward the solution of A W = systemRhs() for another n x n matrix A (the Gram
 * form's least-squares fit: G + ridge I), by CG preconditioned with this system's inverse of I + G.
 * Overwrites CG's carried product: the next solveW3 must refresh. Returns the steps taken.
 */
export function solveFit(a: usize, w: usize, n: i32, m: i32, maxSteps: i32, tol: f32): i32 {
  return cgSolve(a, sysInv, w, rhs, n, m, maxSteps, tol, true);
}

/** Largest diagonal entry of X^T X (the largest column sum of squares) without forming it. */
export function gramMax(x: usize, n: i32, p: i32): f32 {
  let best: f32 = 0;
  for (let j = 0; j < n; j++) {
    let s: f32 = 0;
    for (let i = 0; i < p; i++) {
      const v = getF(x, <usize>i * n + j);
      s += v * v;
    }
    best = max(best, s);
  }
  return best;
}

/**
 * K = X X^T for sample-major X (p x n) with the product kernel: X's columns are taken KC at a time,
 * transposed into `scratch` (p x p floats, so KC <= p) to serve as B, and accumulated into K's
 * upper block triangle; then mirrored.
 */
function rowGram(k: usize, x: usize, p: i32, n: i32, scratch: usize): void {
  const kc = min(GRAM_DEPTH, p);
  for (let k0 = 0; k0 < n; k0 += kc) {
    const depth = min(kc, n - k0);
    for (let i = 0; i < p; i++) {
      const row = x + ((<usize>i * n + k0) << 2);
      for (let d = 0; d < depth; d++) store<f32>(scratch + ((<usize>d * p + i) << 2), load<f32>(row + (<usize>d << 2)));
    }
    gemmUpper(k, x + (<usize>k0 << 2), n, 1, scratch, p, p, depth, k0 > 0);
  }
  mirrorUpper(k, p);
}

function addInto(a: usize, b: usize, count: usize): void {
  if (ASC_FEATURE_SIMD) {
    for (let e: usize = 0; e < count; e += 4) {
      v128.store(a + (e << 2), f32x4.add(v128.load(a + (e << 2)), v128.load(b + (e << 2))));
    }
    return;
  }
  for (let e: usize = 0; e < count; e++) setF(a, e, getF(a, e) + getF(b, e));
}

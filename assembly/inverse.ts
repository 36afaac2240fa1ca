// An approximate inverse of the SPD matrix A = G + I by Newton-Schulz iteration, built from the
// product kernel alone (no factorisation): Z <- Z + Z (I - A Z). It serves as the preconditioner of
// the conjugate-gradient W3 solves: with it one or two CG steps per ADMM step suffice.
import { gemm } from './gemm';
import { gemmSymmetric } from './symmetric';
import { getF, setF } from './memory';
import { hsum, madd } from './simd';

// Stop when ||I - A Z||_F reaches this; f32 rounding bounds what more iterations could give.
const TARGET: f32 = 1e-3;
const MAX_ITERATIONS: i32 = 60;

// Power-iteration steps for the largest eigenvalue; the estimate only sets the starting scale.
const POWER_STEPS: i32 = 30;

/**
 * Writes into z (n x n) an approximation of A^{-1}; e and t are n x n scratch blocks.
 * Returns the final ||I - A Z||_F (below 1 means Z is a useful preconditioner).
 */
export function newtonSchulzInverse(a: usize, z: usize, e: usize, t: usize, n: i32): f32 {
  // Z0 = I / s converges when s > lambda_max / 2, and the closer s is to lambda_max the fewer the
  // iterations: start from a power-iteration estimate (the Gershgorin bound can be sqrt(N) times
  // too large on uncorrelated inputs), and fall back on the bound if that start diverges.
  // Iterations grow with log2(lambda_max / lambda_min), lambda_min >= 1 here. Gram matrices of
  // activations have one dominant direction (their mean: lambda_1 / lambda_2 is 6 to 8 on the mnist
  // layers), so when lambda_1 stands out the start inverts that direction exactly and scales the
  // rest by the second eigenvalue, which saves log2(lambda_1 / lambda_2) iterations.
  const bound = gershgorinBound(a, n);
  const top = e, w = e + (<usize>n << 2), second = e + (<usize>(2 * n) << 2); // vectors in scratch
  const first = <f32>largestEigenvalue(a, n, top, w, 0);
  const estimate = <f32>1.02 * first;
  if (estimate > 0 && estimate < bound) {
    const next = <f32>largestEigenvalue(a, n, second, w, top);
    if (next > 0 && DEFLATE_RATIO * next < first) {
      startDeflated(z, n, top, first, <f32>1.02 * next);
      const res = iterate(a, z, e, t, n);
      if (res < 1) return res;
    }
    startScaled(z, n, estimate);
    const res = iterate(a, z, e, t, n);
    if (res < 1) return res;
  }
  startScaled(z, n, bound);
  return iterate(a, z, e, t, n);
}

// Deflate the top direction when lambda_1 > DEFLATE_RATIO lambda_2 (it then saves an iteration or more).
const DEFLATE_RATIO: f32 = 2;

/** Z0 = I / scale. */
function startScaled(z: usize, n: i32, scale: f32): void {
  memory.fill(z, 0, (<usize>n * n) << 2);
  for (let i = 0; i < n; i++) setF(z, <usize>i * (n + 1), 1 / scale);
}

/** Z0 = (I - u u^T) / scale + u u^T / lambda: u (unit) inverted exactly, the rest scaled. */
function startDeflated(z: usize, n: i32, u: usize, lambda: f32, scale: f32): void {
  const along: f32 = <f32>1 / lambda - <f32>1 / scale;
  for (let i = 0; i < n; i++) {
    const ui = getF(u, i) * along;
    for (let j = 0; j < n; j++) setF(z, <usize>i * n + j, ui * getF(u, j));
    setF(z, <usize>i * (n + 1), getF(z, <usize>i * (n + 1)) + <f32>1 / scale);
  }
}

/** Newton-Schulz from the Z0 in z; Infinity when the residual grows (a start outside the region). */
function iterate(a: usize, z: usize, e: usize, t: usize, n: i32): f32 {
  const count = <usize>n * n;
  let best: f32 = Infinity;
  for (let k = 0; k < MAX_ITERATIONS; k++) {
    // E = I - A Z, in full: A Z is symmetric only while Z commutes with A, and the part of Z that
    // rounding moves off that is what this product lets the iteration correct (mirroring an upper
    // half instead makes the residual blow up once it nears the f32 floor)
    gemm(e, n, a, n, 1, z, n, n, n, n, false);
    let norm: f64 = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const idx = <usize>i * n + j;
        const v = (i == j ? <f32>1 : <f32>0) - getF(e, idx);
        setF(e, idx, v);
        norm += <f64>(v * v);
      }
    }
    const res = <f32>Math.sqrt(norm);
    if (res > 2 * best) return Infinity; // diverging: the start was outside the convergence region
    // rounding makes the residual stall, then grow: stop at its floor
    if (res < TARGET || res > best * 0.9 && res < 1) return res;
    best = min(best, res);
    // Z = Z + Z E = 2 Z - Z A Z: symmetric for any symmetric Z, so half of it is computed
    gemmSymmetric(t, z, n, 1, e, n, n, n);
    for (let idx: usize = 0; idx < count; idx++) setF(z, idx, getF(z, idx) + getF(t, idx));
  }
  return best;
}

/**
 * The largest eigenvalue of the symmetric A by power iteration (from below), leaving its unit
 * eigenvector in v; with `deflate` (a unit vector, or 0 for none), that of A restricted to the
 * complement of `deflate`. v, w: n floats each.
 */
function largestEigenvalue(a: usize, n: i32, v: usize, w: usize, deflate: usize): f64 {
  // a positive start: it cannot be orthogonal to the Perron vector of a nonnegative Gram matrix
  for (let i = 0; i < n; i++) setF(v, i, <f32>(1 + 0.5 * Math.sin(<f64>i)));
  if (deflate) project(v, deflate, n);
  let lambda: f64 = 0;
  for (let k = 0; k < POWER_STEPS; k++) {
    for (let i = 0; i < n; i++) setF(w, i, <f32>rowDot(a + ((<usize>i * n) << 2), v, n));
    if (deflate) project(w, deflate, n);
    let vw: f64 = 0, vv: f64 = 0, ww: f64 = 0;
    for (let i = 0; i < n; i++) {
      const s = <f64>getF(w, i), vi = <f64>getF(v, i);
      vw += s * vi; vv += vi * vi; ww += s * s;
    }
    if (!(ww > 0)) return 0;
    lambda = vw / vv;
    const inv = <f32>(1 / Math.sqrt(ww));
    for (let i = 0; i < n; i++) setF(v, i, getF(w, i) * inv);
  }
  return lambda;
}

/** v -= (u . v) u for a unit u. */
function project(v: usize, u: usize, n: i32): void {
  const d = <f32>rowDot(u, v, n);
  for (let i = 0; i < n; i++) setF(v, i, getF(v, i) - d * getF(u, i));
}

/** Dot product of two n-float vectors (n % 4 == 0 in SIMD builds: sizes are padded to 8). */
function rowDot(a: usize, b: usize, n: i32): f64 {
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (let k = 0; k < n; k += 4) acc = madd(v128.load(a + (<usize>k << 2)), v128.load(b + (<usize>k << 2)), acc);
    return hsum(acc);
  }
  let s: f32 = 0;
  for (let k = 0; k < n; k++) s += getF(a, k) * getF(b, k);
  return s;
}

/** max_i sum_j |A_ij|: an upper bound on the largest eigenvalue. */
function gershgorinBound(a: usize, n: i32): f32 {
  let bound: f32 = 0;
  for (let i = 0; i < n; i++) {
    let s: f32 = 0;
    for (let j = 0; j < n; j++) s += abs(getF(a, <usize>i * n + j));
    bound = max(bound, s);
  }
  return bound;
}

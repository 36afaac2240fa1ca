// An approximate inverse of the SPD matrix A = G + I by Newton-Schulz iteration, built from the
// product kernel alone (no factorisation): Z <- Z + Z (I - A Z). It serves as the preconditioner of
// the conjugate-gradient W3 solves: with it one or two CG steps per ADMM step suffice.
import { gemm } from './gemm';
import { gemmSymmetric } from './symmetric';
import { getF, setF } from './memory';

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
  const bound = gershgorinBound(a, n);
  const estimate = <f32>1.02 * largestEigenvalue(a, n, e, e + (<usize>n << 2));
  if (estimate > 0 && estimate < bound) {
    const res = iterate(a, z, e, t, n, estimate);
    if (res < 1) return res;
  }
  return iterate(a, z, e, t, n, bound);
}

/** Newton-Schulz from Z0 = I / scale; Infinity when the residual grows (scale too small). */
function iterate(a: usize, z: usize, e: usize, t: usize, n: i32, scale: f32): f32 {
  const count = <usize>n * n;
  memory.fill(z, 0, count << 2);
  for (let i = 0; i < n; i++) setF(z, <usize>i * (n + 1), 1 / scale);
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

/** The largest eigenvalue of the symmetric A by power iteration (from below); v, w: n floats each. */
function largestEigenvalue(a: usize, n: i32, v: usize, w: usize): f32 {
  // a positive start: it cannot be orthogonal to the Perron vector of a nonnegative Gram matrix
  for (let i = 0; i < n; i++) setF(v, i, <f32>(1 + 0.5 * Math.sin(<f64>i)));
  let lambda: f64 = 0;
  for (let k = 0; k < POWER_STEPS; k++) {
    let vw: f64 = 0, vv: f64 = 0, ww: f64 = 0;
    for (let i = 0; i < n; i++) {
      let s: f32 = 0;
      const row = a + ((<usize>i * n) << 2);
      for (let j = 0; j < n; j++) s += load<f32>(row + (<usize>j << 2)) * getF(v, j);
      setF(w, i, s);
      vw += <f64>s * <f64>getF(v, i);
      vv += <f64>getF(v, i) * <f64>getF(v, i);
      ww += <f64>s * <f64>s;
    }
    lambda = vw / vv;
    const inv = <f32>(1 / Math.sqrt(ww));
    for (let i = 0; i < n; i++) setF(v, i, getF(w, i) * inv);
  }
  return <f32>lambda;
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

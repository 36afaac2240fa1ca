// An approximate inverse of the SPD matrix A = G + I by Newton-Schulz iteration, built from the
// product kernel alone (no factorisation): Z <- Z + Z (I - A Z). It serves as the preconditioner of
// the conjugate-gradient W3 solves: with it one or two CG steps per ADMM step suffice.
import { gemm } from './gemm';
import { getF, setF } from './memory';

// Stop when ||I - A Z||_F reaches this; f32 rounding bounds what more iterations could give.
const TARGET: f32 = 1e-3;
const MAX_ITERATIONS: i32 = 60;

/**
 * Writes into z (n x n) an approximation of A^{-1}; e and t are n x n scratch blocks.
 * Returns the final ||I - A Z||_F (below 1 means Z is a useful preconditioner).
 */
export function newtonSchulzInverse(a: usize, z: usize, e: usize, t: usize, n: i32): f32 {
  const count = <usize>n * n;
  // Z0 = I / bound with bound >= lambda_max(A) (Gershgorin): then ||I - A Z0|| < 1 and the iteration converges.
  const bound = gershgorinBound(a, n);
  memory.fill(z, 0, count << 2);
  for (let i = 0; i < n; i++) setF(z, <usize>i * (n + 1), 1 / bound);
  let best: f32 = Infinity;
  for (let k = 0; k < MAX_ITERATIONS; k++) {
    // E = I - A Z
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
    // rounding makes the residual stall, then grow: stop at its floor
    if (res < TARGET || res > best * 0.9 && res < 1) return res;
    best = min(best, res);
    // Z = Z + Z E
    gemm(t, n, z, n, 1, e, n, n, n, n, false);
    for (let idx: usize = 0; idx < count; idx++) setF(z, idx, getF(z, idx) + getF(t, idx));
  }
  return best;
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

// The refit's responses in float64 (refit.ts): Z0 = X W0 for the start and Z1 = X W1 for the result,
// P x m each, from which src/prune/refit.ts takes every figure (errors before and after, the bounds,
// the soft objective, the step). In float64 so the figures keep the digits the float64 reference
// gives (test/prune-refit.test.ts compares them to 1e-9), through the float64 product kernel; the
// JavaScript per-neuron products they replace cost more than the whole solve on a 2048-wide layer.
import { gemm64 } from './gemm64';
import { arenaAlloc, getF } from './memory';

/** Copies of `count` f32 at `from` widened to f64, in a fresh reservation (0 when memory cannot grow). */
function widened(from: usize, count: usize): usize {
  const out = arenaAlloc(count << 3);
  if (out == 0) return 0;
  for (let e: usize = 0; e < count; e++) store<f64>(out + (e << 3), <f64>getF(from, e));
  return out;
}

/**
 * z0 = X w0 and z1 = X w1 (f64, p x m) with X p x n and w0, w1 n x m (f32); p and m multiples of 4.
 * False when memory cannot grow.
 */
export function responsesF64(x: usize, w0: usize, w1: usize, p: i32, n: i32, m: i32, z0: usize, z1: usize): bool {
  const x64 = widened(x, <usize>p * n);
  const w64 = x64 != 0 ? widened(w0, <usize>n * m) : 0;
  if (w64 == 0) return false;
  gemm64(z0, m, x64, n, w64, m, p, m, n);
  for (let e: usize = 0; e < <usize>n * m; e++) store<f64>(w64 + (e << 3), <f64>getF(w1, e));
  gemm64(z1, m, x64, n, w64, m, p, m, n);
  return true;
}

// Seeded random numbers for tests: reruns see the same problems.
import { mulberry32 } from '../../src/onnx/sampling.ts';

/** Uniform floats in [0, 1) from a 32-bit seed: the library's own generator (mulberry32). */
export const seededRandom = mulberry32;

/** Standard normal samples (Box-Muller) from a uniform source. */
export function gaussian(uniform: () => number): () => number {
  return () => {
    const u = Math.max(uniform(), 1e-12), v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** A Float32Array of `count` draws. */
export function fill(count: number, draw: () => number): Float32Array {
  const a = new Float32Array(count);
  for (let i = 0; i < count; i++) a[i] = draw();
  return a;
}

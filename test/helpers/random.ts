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

/**
 * A ReLU layer with a sparse teacher, `outputs = max(0, inputs * teacher)`: Gaussian P x N inputs,
 * an N x M teacher whose entries are nonzero (Gaussian) with probability `density`.
 */
export function plantedRelu(seed: number, p: number, n: number, m: number, density: number) {
  const rand = seededRandom(seed), draw = gaussian(rand);
  const inputs = fill(p * n, draw), teacher = fill(n * m, () => (rand() < density ? draw() : 0));
  const outputs = new Float32Array(p * m);
  for (let q = 0; q < p; q++) {
    for (let j = 0; j < m; j++) {
      let v = 0;
      for (let r = 0; r < n; r++) v += inputs[q * n + r]! * teacher[r * m + j]!;
      outputs[q * m + j] = Math.max(0, v);
    }
  }
  return { inputs, outputs, samples: p, inputSize: n, outputSize: m };
}

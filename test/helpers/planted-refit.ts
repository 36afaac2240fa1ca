// The refit tests' planted layer (test/prune-refit*.test.ts): P samples of N Gaussian inputs, W*
// (N x M, `density` nonzero, plus a bias row) and Z = W*^T X + b*, drawn from the caller's seeded
// generators. `slack` gives V = Z + |noise| on the inactive entries (the cascade form).
import type { LayerInput } from '../../src/types.ts';
import { fill } from './random.ts';

export function plantedRefitLayer(
  random: () => number, normal: () => number,
  p: number, n: number, m: number, density: number, activation: 'relu' | 'linear', slack = false,
): { input: LayerInput; w: Float32Array; z: Float32Array } {
  const w = new Float32Array((n + 1) * m);
  for (let k = 0; k < n * m; k++) if (random() < density) w[k] = normal();
  for (let j = 0; j < m; j++) w[n * m + j] = 0.3 * normal(); // bias row, all kept
  const inputs = fill(p * n, normal);
  const z = new Float32Array(p * m);
  for (let s = 0; s < p; s++) {
    for (let j = 0; j < m; j++) {
      let sum = w[n * m + j]!;
      for (let i = 0; i < n; i++) sum += inputs[s * n + i]! * w[i * m + j]!;
      z[s * m + j] = sum;
    }
  }
  const outputs = activation === 'relu' ? z.map((v) => Math.max(0, v)) : z;
  const input: LayerInput = { inputs, outputs, samples: p, inputSize: n, outputSize: m };
  if (slack) input.slack = z.map((v) => (v > 0 ? 0 : v + 0.1 * Math.abs(normal())));
  return { input, w, z };
}

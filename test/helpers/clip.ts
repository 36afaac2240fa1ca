// A planted Clip(0, c) layer with per-entry regions, for the region and certificate tests.
import type { LayerInput } from '../../src/types.ts';
import { gaussian, seededRandom } from './random.ts';

export const CLIP = 1.5;

/** Y = clip(X W0 + b0, 0, CLIP) with small noise inside; regions and V from where Y was clipped. */
export function plantClip(seed: number, p: number, n: number, m: number): LayerInput {
  const normal = gaussian(seededRandom(seed)), uniform = seededRandom(seed ^ 0x5bd1e995);
  const inputs = Float32Array.from({ length: p * n }, normal);
  const w0 = Float64Array.from({ length: n * m }, () => (uniform() < 0.4 ? normal() : 0));
  const b0 = Float64Array.from({ length: m }, () => 0.5 + 0.3 * normal());
  const outputs = new Float32Array(p * m), slack = new Float32Array(p * m), regions = new Uint8Array(p * m);
  for (let s = 0; s < p; s++) {
    for (let k = 0; k < m; k++) {
      let z = b0[k];
      for (let j = 0; j < n; j++) z += inputs[s * n + j] * w0[j * m + k];
      const e = s * m + k;
      if (z <= 0) { regions[e] = 1; outputs[e] = 0; slack[e] = 0; }
      else if (z >= CLIP) { regions[e] = 2; outputs[e] = CLIP; slack[e] = CLIP; }
      else { outputs[e] = z + 0.01 * normal(); }
    }
  }
  return { inputs, outputs, samples: p, inputSize: n, outputSize: m, slack, regions };
}


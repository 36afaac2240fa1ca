// The baseline a user compares against: per layer, keep the largest-magnitude trained weights, as
// many as Net-Trim kept there, zero the rest, leave the biases as trained, no retraining.
import { countNonzero } from '../graph/weights.ts';
import type { ModelBackend, WeightValues } from './backend.ts';
import type { LayerSolution } from './programs.ts';

/** `weights` with all but the `keep` largest |values| set to zero (ties: the lower index stays). */
export function keepLargest(weights: Float32Array, keep: number): Float32Array {
  const out = new Float32Array(weights.length);
  if (keep <= 0) return out;
  const order = Array.from(weights.keys()).sort((a, b) => Math.abs(weights[b]!) - Math.abs(weights[a]!) || a - b);
  for (let k = 0; k < Math.min(keep, order.length); k++) out[order[k]!] = weights[order[k]!]!;
  return out;
}

/** Every pruned layer's weights magnitude-pruned to the nonzero count of its Net-Trim solution. */
export function magnitudeValues(backend: ModelBackend, solved: readonly LayerSolution[]): WeightValues {
  const values = new Map<string, Float32Array>();
  for (const s of solved) {
    values.set(s.layer.weight, keepLargest(backend.weightValues(s.layer.weight), countNonzero(s.weight)));
  }
  return values;
}

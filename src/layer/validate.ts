// Checks of a layer's calibration signals before anything reaches wasm: clear errors with the values.
import type { LayerInput } from '../types.ts';

/** Throws when sizes disagree, are not positive integers, or any entry is NaN or infinite. */
export function validateLayerInput(input: LayerInput, rows: number): void {
  const { samples: p, inputSize: n, outputSize: m } = input;
  positiveInteger('samples', p);
  positiveInteger('inputSize', n);
  positiveInteger('outputSize', m);
  checkArray('inputs', input.inputs, p * n, `${p} samples x ${n} inputs`);
  checkArray('outputs', input.outputs, p * m, `${p} samples x ${m} outputs`);
  if (input.slack !== undefined) checkArray('slack', input.slack, p * m, `${p} samples x ${m} outputs`);
  if (input.regions !== undefined) checkRegions(input, p * m);
  if (input.initialWeights !== undefined) {
    checkArray('initialWeights', input.initialWeights, rows * m, `${rows} rows x ${m} outputs`);
  }
}

/** Regions: P x M values 0 (ball), 1 (upper bound), 2 (lower bound); a lower bound needs a slack V. */
function checkRegions(input: LayerInput, expected: number): void {
  const r = input.regions!;
  if (!(r instanceof Uint8Array)) throw new Error(`nettrim: regions must be a Uint8Array`);
  if (r.length !== expected) {
    throw new Error(`nettrim: regions has ${r.length} entries, expected ${expected} (${input.samples} samples x ${input.outputSize} outputs)`);
  }
  for (let i = 0; i < r.length; i++) {
    if (r[i] > 2) throw new Error(`nettrim: regions has value ${r[i]} at index ${i}; allowed are 0 (ball), 1 (upper bound), 2 (lower bound)`);
    if (r[i] === 2 && input.slack === undefined) {
      throw new Error(`nettrim: regions has a lower bound (2) at index ${i} but no slack gives its value V`);
    }
  }
}

function positiveInteger(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`nettrim: ${name} must be a positive integer, got ${v}`);
}

function checkArray(name: string, a: Float32Array, expected: number, what: string): void {
  if (!(a instanceof Float32Array)) throw new Error(`nettrim: ${name} must be a Float32Array`);
  if (a.length !== expected) {
    throw new Error(`nettrim: ${name} has ${a.length} entries, expected ${expected} (${what})`);
  }
  const bad = firstNonFinite(a);
  if (bad >= 0) throw new Error(`nettrim: ${name} has a non-finite value (${a[bad]}) at index ${bad}`);
}

function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) {
    // x - x is NaN exactly for NaN and +-Infinity, and cheaper than Number.isFinite on hot arrays
    if (a[i] - a[i] !== 0) return i;
  }
  return -1;
}

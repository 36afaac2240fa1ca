// Comparing models on data: top-1 accuracy against labels, and how far outputs moved.
import { shapeText } from '../io/format.ts';
import { InputError } from '../errors.ts';
import type { Feeds, TensorData } from '../onnx/inputs.ts';
import { ModelSession, forEachBatch } from '../onnx/runtime.ts';
import type { Outputs } from './backend.ts';

export type { Outputs } from './backend.ts';

/** Every graph output of an ONNX model (bytes) over all samples, concatenated along the sample axis. */
export async function runOutputs(
  bytes: Uint8Array, source: string, feeds: Feeds, samples: number, batchSize: number,
): Promise<Outputs> {
  const session = await ModelSession.create(bytes, source);
  const parts = new Map<string, Float32Array[]>();
  try {
    await forEachBatch(session, feeds, samples, batchSize, session.outputNames, (result) => {
      for (const [name, t] of result) {
        const list = parts.get(name) ?? [];
        list.push(t.data.slice());
        parts.set(name, list);
      }
    });
  } finally {
    await session.release();
  }
  const out: Outputs = new Map();
  for (const [name, list] of parts) {
    const all = new Float32Array(list.reduce((n, a) => n + a.length, 0));
    let offset = 0;
    for (const a of list) {
      all.set(a, offset);
      offset += a.length;
    }
    out.set(name, all);
  }
  return out;
}

/**
 * The class labels as integers: a vector of `samples` class indices, or a samples x K one-hot
 * (or score) matrix reduced by argmax. Refuses other lengths and non-integer labels.
 */
export function labelIndices(labels: TensorData, samples: number, classes: number): Int32Array {
  const source = labels.source ?? 'labels';
  if (labels.shape.length === 0) throw new InputError(`${source}: a scalar; expected ${samples} class indices`);
  if (labels.shape[0] !== samples) {
    throw new InputError(`${source}: ${labels.shape[0]} labels for ${samples} evaluation samples`);
  }
  if (labels.shape.length === 2 && labels.shape[1] === classes && classes > 1) return argmaxRows(labels.data, samples, classes);
  if (labels.data.length !== samples) {
    throw new InputError(`${source}: shape ${shapeText(labels.shape)}; expected [${samples}] class indices or [${samples}, ${classes}] one-hot rows`);
  }
  const out = new Int32Array(samples);
  for (let i = 0; i < samples; i++) {
    const v = labels.data[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new InputError(`${source}: label ${v} at index ${i} is not a class index in 0..${classes - 1}`);
    }
    out[i] = v;
  }
  return out;
}

/** Fraction of rows whose largest score sits at the label. */
export function topOneAccuracy(scores: Float32Array, labels: Int32Array): number {
  const samples = labels.length;
  const classes = scores.length / samples;
  const predicted = argmaxRows(scores, samples, classes);
  let right = 0;
  for (let i = 0; i < samples; i++) if (predicted[i] === labels[i]) right++;
  return right / samples;
}

/** Largest over samples and outputs of ||b - a||_2 / ||a||_2 (absolute when ||a|| is 0). */
export function maxRelativeChange(a: Outputs, b: Outputs, samples: number): number {
  let worst = 0;
  for (const [name, before] of a) {
    const after = b.get(name)!;
    const width = before.length / samples;
    for (let s = 0; s < samples; s++) {
      let diff = 0;
      let norm = 0;
      for (let k = s * width; k < (s + 1) * width; k++) {
        diff += (after[k]! - before[k]!) ** 2;
        norm += before[k]! ** 2;
      }
      worst = Math.max(worst, norm > 0 ? Math.sqrt(diff / norm) : Math.sqrt(diff));
    }
  }
  return worst;
}

function argmaxRows(scores: Float32Array, rows: number, width: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let k = 1; k < width; k++) if (scores[r * width + k]! > scores[r * width + best]!) best = k;
    out[r] = best;
  }
  return out;
}

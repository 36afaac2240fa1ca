// The model's data inputs and the checks calibration (or evaluation) tensors must pass before
// anything runs: names, element type, shape, sample count, finite values.
import { listText } from '../io/format.ts';
import { InputError } from '../errors.ts';
import { indexGraph } from './graph.ts';
import type { OnnxModel } from './model.ts';
import { FLOAT, dataTypeName, toInt } from './proto.ts';

/** A float32 tensor, sample-major: shape[0] is the number of samples. */
export interface TensorData {
  data: Float32Array;
  shape: number[];
  /** Where it came from, for messages (a file name). */
  source?: string;
  /** The dtype of the file it was read from (e.g. '<f4'), when known. */
  sourceDtype?: string;
}

/** Named tensors fed to the model, all with the same number of samples. */
export type Feeds = ReadonlyMap<string, TensorData>;

export interface ModelInput {
  name: string;
  elemType: number;
  /** Fixed sizes as numbers, symbolic ones (a batch dimension) as strings, unknown as null; null when the shape is not declared. */
  dims: Array<number | string | null> | null;
}

/** The graph inputs a user has to feed (initializers excluded); a list of inputs is returned as it is. */
export function modelInputs(model: OnnxModel | readonly ModelInput[]): ModelInput[] {
  if (Array.isArray(model)) return [...model];
  return onnxInputs(model as OnnxModel);
}

function onnxInputs(model: OnnxModel): ModelInput[] {
  const wanted = new Set(indexGraph(model.graph).dataInputs);
  return (model.graph.input ?? [])
    .filter((v) => wanted.has(v.name ?? ''))
    .map((v) => {
      const tensorType = v.type?.tensorType;
      const shape = tensorType?.shape;
      const dims = !shape ? null : (shape.dim ?? []).map((d) =>
        d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null && toInt(d.dimValue) > 0 ? toInt(d.dimValue) : null,
      );
      return { name: v.name ?? '', elemType: tensorType?.elemType ?? 0, dims };
    });
}

/**
 * Checks that `feeds` fit the model: one float32 tensor per input, the shape of the input
 * (the first axis is the sample axis), the same sample count everywhere, no NaN or infinity.
 * Returns the sample count. `what` names the data in messages ('calibration', 'evaluation').
 */
export function checkFeeds(model: OnnxModel | readonly ModelInput[], feeds: Feeds, what: string): number {
  const inputs = modelInputs(model);
  const names = inputs.map((i) => i.name);
  for (const name of feeds.keys()) {
    if (!names.includes(name)) throw new InputError(`${what} data for '${name}', but the model's inputs are: ${names.length > 0 ? listText(names) : 'none'}`);
  }
  let samples = -1;
  for (const input of inputs) {
    const feed = feeds.get(input.name);
    const label = feed?.source ? `${what} data ${feed.source}` : `${what} data for input '${input.name}'`;
    if (!feed) throw new InputError(`no ${what} data for the model input '${input.name}' (give NAME=FILE.npy for each of: ${listText(names)})`);
    if (input.elemType !== FLOAT) {
      throw new InputError(`model input '${input.name}' is ${dataTypeName(input.elemType)}; nettrim feeds float32 inputs only`);
    }
    if (feed.sourceDtype !== undefined && !/^[<|=]?f4$/.test(feed.sourceDtype)) {
      throw new InputError(`${label}: dtype ${feed.sourceDtype} does not match the model input '${input.name}' (float32); convert it, e.g. x.astype(numpy.float32)`);
    }
    checkShape(label, input, feed.shape);
    const n = feed.shape[0]!;
    if (samples >= 0 && n !== samples) throw new InputError(`${label}: ${n} samples, other inputs have ${samples}`);
    samples = n;
    const bad = firstNonFinite(feed.data);
    if (bad >= 0) {
      const sample = Math.floor(bad / Math.max(1, feed.data.length / n));
      throw new InputError(`${label}: value ${feed.data[bad]} at flat index ${bad} (sample ${sample}); the data must be finite`);
    }
  }
  if (samples <= 0) throw new InputError(`${what} data holds no samples`);
  return samples;
}

function checkShape(label: string, input: ModelInput, shape: number[]): void {
  if (shape.length === 0) throw new InputError(`${label}: a scalar, but the first axis must count the samples`);
  if (input.dims === null) return;
  const expected = listText(input.dims.map((d) => (typeof d === 'number' ? d : '?')));
  const mismatch = shape.length !== input.dims.length || input.dims.some((d, i) => i > 0 && typeof d === 'number' && d !== shape[i]);
  if (mismatch) {
    const fixed = input.dims.slice(1);
    const perSample = shape.slice(1).reduce((a, b) => a * b, 1);
    const same = fixed.every((d) => typeof d === 'number') && fixed.reduce<number>((a, b) => a * (b as number), 1) === perSample;
    const hint = same ? `; the values per sample agree: reshape it to [${shape[0]}, ${listText(fixed as number[])}]` : '';
    throw new InputError(`${label}: shape [${listText(shape)}] does not match the model input '${input.name}' [${expected}] (first axis: samples)${hint}`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count === 0) throw new InputError(`${label}: shape [${listText(shape)}] holds no values`);
}

function firstNonFinite(data: Float32Array): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i]!)) return i;
  return -1;
}

/** Rows [start, end) of a sample-major tensor. */
export function sliceSamples(tensor: TensorData, start: number, end: number): TensorData {
  const row = tensor.shape.slice(1).reduce((a, b) => a * b, 1);
  return { data: tensor.data.subarray(start * row, end * row), shape: [end - start, ...tensor.shape.slice(1)] };
}

/**
 * The batch size to run with: `requested`, unless an input fixes its first axis (then that size,
 * and the sample count must be a multiple of it).
 */
export function batchSizeFor(model: OnnxModel | readonly ModelInput[], samples: number, requested: number): number {
  const fixed = modelInputs(model).map((i) => i.dims?.[0]).find((d): d is number => typeof d === 'number');
  if (fixed === undefined) return Math.max(1, Math.min(requested, samples));
  if (samples % fixed !== 0) {
    throw new InputError(`the model's inputs have a fixed batch size of ${fixed}; give a multiple of ${fixed} samples (got ${samples})`);
  }
  return fixed;
}

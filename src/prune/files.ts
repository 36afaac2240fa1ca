// Command-line style data arguments: `FILE.npy` for a one-input model, `NAME=FILE.npy` per input.
import { listText } from '../io/format.ts';
import { readNpyFile } from '../io/npy.ts';
import { InputError } from '../errors.ts';
import { modelInputs, type ModelInput, type TensorData } from '../onnx/inputs.ts';
import type { OnnxModel } from '../onnx/model.ts';

/** Reads one .npy as a tensor; read and format errors are InputErrors naming the file. */
export async function readTensor(path: string): Promise<TensorData> {
  const a = await readNpyFile(path);
  return { data: a.data, shape: a.shape, source: path, sourceDtype: a.sourceDtype };
}

/**
 * Reads class labels: float or integer .npy (np.save of class indices writes int64), checked later
 * against the model's classes (labelIndices). Only labels accept integers: model inputs are float.
 */
export async function readLabels(path: string): Promise<TensorData> {
  const a = await readNpyFile(path, { integers: true });
  return { data: a.data, shape: a.shape, source: path, sourceDtype: a.sourceDtype };
}

/** Reads `FILE.npy` or `NAME=FILE.npy` specs into tensors by model input name. */
export async function readFeeds(model: OnnxModel | readonly ModelInput[], specs: readonly string[], what: string): Promise<Map<string, TensorData>> {
  const names = modelInputs(model).map((i) => i.name);
  const feeds = new Map<string, TensorData>();
  for (const spec of specs) {
    const named = /^([^=/\\]+)=(.+)$/.exec(spec);
    let name: string;
    let path: string;
    if (named && names.includes(named[1]!)) {
      [name, path] = [named[1]!, named[2]!];
    } else if (names.length === 1) {
      [name, path] = [names[0]!, spec];
    } else {
      throw new InputError(names.length === 0
        ? `--${what} ${spec}: the model has no data inputs to feed`
        : `--${what} ${spec}: the model has inputs ${listText(names)}; write NAME=FILE.npy for each`);
    }
    if (feeds.has(name)) throw new InputError(`--${what}: two files for the input '${name}'`);
    feeds.set(name, await readTensor(path));
  }
  return feeds;
}

/** The first `count` samples of a tensor (all of them when count is undefined). */
export function firstRows(t: TensorData, count: string | undefined, flag = '--calib-digits'): TensorData {
  if (count === undefined) return t;
  const n = Number(count);
  const total = t.shape[0]!;
  if (!(Number.isInteger(n) && n >= 1 && n <= total)) throw new InputError(`${flag} must be an integer in 1..${total}, got ${count}`);
  const width = t.data.length / total;
  return { ...t, data: t.data.subarray(0, n * width), shape: [n, ...t.shape.slice(1)] };
}

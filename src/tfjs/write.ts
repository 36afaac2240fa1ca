// Writing a pruned Layers model: the same model.json (topology and every other field) with a new
// weightsManifest, one group of float32 (dequantized), int32 and bool weights in shards of 4 MB as
// tensorflowjs_converter cuts them. Files are written atomically, the shards first and model.json
// last, so a reader never sees a model.json whose shards are not all complete; inputs are never
// overwritten.
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { assertNotInput, writeFileAtomic } from '../io/atomic.ts';
import { InputError } from '../errors.ts';
import type { WeightValues } from '../prune/backend.ts';
import type { LayersModelFile } from './model.ts';

/** tensorflowjs_converter's default shard size (--weight_shard_size_bytes). */
export const SHARD_BYTES = 4 * 1024 * 1024;

/** A Layers model ready to write: model.json text and its shards (paths relative to model.json). */
export interface LayersModelArtifacts {
  modelJson: string;
  shards: Array<{ path: string; bytes: Uint8Array }>;
}

/** The model with `values` in place of the named weights; every weight stored unquantized. */
export function encodeLayersModel(file: LayersModelFile, values: WeightValues = new Map()): LayersModelArtifacts {
  const parts = file.weights.map((w) => {
    const v = values.get(w.name);
    if (v && v.length !== w.values.length) throw new Error(`weight '${w.name}' holds ${w.values.length} values, cannot write ${v.length}`);
    const data = v ?? w.values;
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  });
  const total = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(total);
  let offset = 0;
  for (const p of parts) {
    all.set(p, offset);
    offset += p.length;
  }
  const count = Math.max(1, Math.ceil(total / SHARD_BYTES));
  const shards = Array.from({ length: count }, (_, k) => ({
    path: `group1-shard${k + 1}of${count}.bin`,
    bytes: all.subarray(k * SHARD_BYTES, Math.min(total, (k + 1) * SHARD_BYTES)),
  }));
  const manifest = [{
    paths: shards.map((s) => s.path),
    weights: file.weights.map((w) => ({ name: w.name, shape: w.shape, dtype: w.dtype, ...(w.group ? { group: w.group } : {}) })),
  }];
  const json = { ...file.json, weightsManifest: manifest };
  return { modelJson: JSON.stringify(json), shards };
}

/** Where an output goes: `DIR` (model.json inside) or `path/NAME.json`. */
export function layersOutputPaths(out: string, artifacts?: LayersModelArtifacts): { dir: string; modelJson: string; shards: string[] } {
  const isJson = out.toLowerCase().endsWith('.json');
  const dir = isJson ? dirname(out) : out;
  const modelJson = isJson ? out : join(out, 'model.json');
  return { dir, modelJson, shards: (artifacts?.shards ?? []).map((s) => join(dir, s.path)) };
}

/**
 * Writes the artifacts to `out` (a directory, created if its parent exists, or a .json path),
 * refusing to overwrite any of `inputs`. Returns the paths written, model.json last.
 */
export async function writeLayersModel(out: string, artifacts: LayersModelArtifacts, inputs: readonly string[] = []): Promise<string[]> {
  const paths = layersOutputPaths(out, artifacts);
  for (const path of [...paths.shards, paths.modelJson]) {
    try {
      assertNotInput(path, inputs);
    } catch (err) {
      throw new InputError((err as Error).message);
    }
  }
  const info = await stat(paths.dir).catch(() => null);
  if (info && !info.isDirectory()) throw new InputError(`${out}: ${paths.dir} is not a directory`);
  if (!info) {
    const parent = await stat(dirname(resolve(paths.dir))).catch(() => null);
    if (!parent?.isDirectory()) throw new InputError(`${out}: directory ${dirname(resolve(paths.dir))} does not exist`);
    await mkdir(paths.dir);
  }
  const written: string[] = [];
  for (const [k, shard] of artifacts.shards.entries()) {
    await writeFileAtomic(paths.shards[k]!, shard.bytes, inputs);
    written.push(paths.shards[k]!);
  }
  await writeFileAtomic(paths.modelJson, `${artifacts.modelJson}\n`, inputs);
  written.push(paths.modelJson);
  return written;
}

/** The default output of `nettrim prune DIR/model.json`: the directory DIR/model.pruned. */
export function defaultLayersOutput(model: string): string {
  return join(dirname(model), `${basename(model, '.json')}.pruned`);
}

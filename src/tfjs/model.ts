// Reading a TensorFlow.js Layers model: model.json (modelTopology and weightsManifest) and the
// weight shards it lists. Every check a broken or hostile directory needs is made here, before any
// work: JSON that parses, a Layers (not graph) model, manifest entries with known dtypes, shards
// that exist and hold exactly the bytes the manifest implies. Quantized weights (uint8, uint16,
// float16) are dequantized as TensorFlow.js does (io_utils decodeWeight): q * scale + min.
import { lstat, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { clip, jsonText, listText } from '../io/format.ts';
import { RegularFile, fileProblem, readRegularFile } from '../io/read.ts';
import { InputError } from '../errors.ts';

export type WeightDtype = 'float32' | 'int32' | 'bool';
export type QuantizedDtype = 'uint8' | 'uint16' | 'float16';

/** One weight of the manifest, decoded. */
export interface WeightEntry {
  name: string;
  shape: number[];
  /** The dtype TensorFlow.js gives the tensor (float32 for dequantized floats). */
  dtype: WeightDtype;
  /** Decoded values: Float32Array for float32, Int32Array for int32, Uint8Array for bool. */
  values: Float32Array | Int32Array | Uint8Array;
  /** How it was stored, when quantized. */
  quantized: QuantizedDtype | null;
  /** The manifest entry's `group` ('model', 'optimizer'), kept when writing. */
  group?: string;
}

/** A model.json with its weights: what pruning reads and what writing starts from. */
export interface LayersModelFile {
  /** The path of model.json (or a label). */
  readonly source: string;
  /** The parsed model.json; its weightsManifest is replaced when written. */
  readonly json: Readonly<Record<string, unknown>>;
  /** modelTopology, with a Keras `model_config` wrapper removed. */
  readonly topology: Readonly<Record<string, unknown>>;
  /** Every weight, in manifest order. */
  readonly weights: readonly WeightEntry[];
  /** Absolute paths of the shard files read (never written to). */
  readonly shards: readonly string[];
}

const VALUE_BYTES: Record<WeightDtype | QuantizedDtype, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

interface SpecEntry {
  name: string;
  shape: number[];
  dtype: WeightDtype;
  quantization: { dtype: QuantizedDtype; scale: number; min: number } | null;
  group?: string;
}

/** Reads model.json (a path to the file, or to the directory holding model.json) and its shards. */
export async function readLayersModel(path: string): Promise<LayersModelFile> {
  let file = path;
  const info = await stat(path).catch(() => null);
  if (info?.isDirectory()) file = join(path, 'model.json');
  const bytes = await readRegularFile(file, 'the model.json', MAX_MODEL_JSON_BYTES, 'a model.json holds the topology and the manifest, not the weights');
  const json = parseJson(new TextDecoder().decode(bytes), file);
  const specs = manifestGroups(json, file);
  const dir = dirname(resolve(file));
  const groups: Uint8Array[] = [];
  const shards: string[] = [];
  for (const [g, group] of specs.entries()) {
    const where = `weight shard '${clip(group.paths[0] ?? '')}' (weightsManifest group ${g + 1})`;
    const paths = await Promise.all(group.paths.map((p) => shardPath(dir, p, file, g)));
    const expected = group.weights.reduce((n, w) => n + byteLength(w), 0);
    // Sizes first: the shards are read only when together they hold exactly what the manifest needs.
    const opened: RegularFile[] = [];
    try {
      for (const [k, p] of paths.entries()) {
        opened.push(await RegularFile.open(p, `weight shard '${clip(group.paths[k]!)}' (weightsManifest group ${g + 1}) of ${file}`));
      }
      const actual = opened.reduce((n, f) => n + f.size, 0);
      if (actual !== expected) {
        const sizes = listText(group.paths.map((p, k) => `${clip(p)} ${opened[k]!.size} bytes`));
        throw new InputError(
          `${file}: weightsManifest group ${g + 1} (${group.weights.length} weights) needs ${expected} bytes, ` +
            `its shards hold ${actual} (${sizes}): a shard is truncated, padded or from another model`,
        );
      }
      const parts: Uint8Array[] = [];
      for (const f of opened) parts.push(await f.read(0, f.size));
      groups.push(concat(parts));
    } catch (err) {
      if (err instanceof InputError) throw err;
      throw new InputError(`${file}: ${where} cannot be read: ${fileProblem(err)}`, { cause: err });
    } finally {
      await Promise.all(opened.map((f) => f.close()));
    }
    shards.push(...paths);
  }
  return decodeLayersModel(json, groups, file, shards);
}

/** model.json holds the topology and the manifest; real ones are kilobytes to a few megabytes. */
const MAX_MODEL_JSON_BYTES = 256 * 2 ** 20;

/**
 * The path of a shard named in the manifest, which must stay inside the model's folder: no
 * absolute path, no '..' out of it, no symbolic link leading out. The message never says what is
 * outside (whether it exists, its size or content): a model.json may come from anyone.
 */
async function shardPath(dir: string, name: string, file: string, g: number): Promise<string> {
  const refuse = (why: string): never => {
    throw new InputError(`${file}: weight shard '${clip(name)}' (weightsManifest group ${g + 1}) ${why}; shards must be files in the model's folder`);
  };
  if (isAbsolute(name) || /^[a-zA-Z]:|^[\\/]/.test(name)) refuse('is an absolute path');
  if (name.includes('\0')) refuse('contains a NUL character');
  const path = resolve(dir, name);
  if (!inside(dir, path)) refuse("leads out of the model's folder");
  const realDir = await realpath(dir).catch(() => dir);
  let real: string;
  try {
    real = await realpath(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // A missing file in the folder is named; a dangling link is not followed to say where it points.
    if (code === 'ENOENT' && !(await isLink(path))) throw new InputError(`${file}: weight shard '${clip(name)}' (weightsManifest group ${g + 1}) cannot be read: the file is missing (${path})`);
    return refuse(code === 'ELOOP' ? 'goes round a loop of symbolic links' : 'cannot be resolved inside the model\'s folder');
  }
  if (!inside(realDir, real)) refuse("is a symbolic link that leads out of the model's folder");
  return path;
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

async function isLink(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null))?.isSymbolicLink() ?? false;
}

/**
 * Builds the model from a parsed model.json and one byte buffer per manifest group (the group's
 * shards concatenated). `readLayersModel` is this plus the file checks.
 */
export function decodeLayersModel(
  json: Record<string, unknown>, groups: readonly Uint8Array[], source = 'model.json', shards: string[] = [],
): LayersModelFile {
  checkModelJson(json, source);
  const specs = manifestGroups(json, source).map((g) => g.weights);
  if (specs.length !== groups.length) throw new InputError(`${source}: ${specs.length} weight groups, ${groups.length} buffers given`);
  const weights: WeightEntry[] = [];
  const names = new Set<string>();
  specs.forEach((group, g) => {
    let offset = 0;
    for (const spec of group) {
      if (names.has(spec.name)) throw new InputError(`${source}: two weights are named '${spec.name}'`);
      names.add(spec.name);
      const length = byteLength(spec);
      if (offset + length > groups[g]!.length) {
        throw new InputError(`${source}: weight '${spec.name}' runs past the end of weightsManifest group ${g + 1}`);
      }
      weights.push(decodeWeight(spec, groups[g]!.subarray(offset, offset + length)));
      offset += length;
    }
  });
  let topology = json.modelTopology as Record<string, unknown>;
  if (isObject(topology.model_config)) topology = topology.model_config as Record<string, unknown>;
  return { source, json, topology, weights, shards };
}

/** Values of one weight as TensorFlow.js decodes them. */
function decodeWeight(spec: SpecEntry, bytes: Uint8Array): WeightEntry {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  const copy = bytes.slice(); // aligned, owned
  const q = spec.quantization;
  let values: WeightEntry['values'];
  if (!q) {
    values = spec.dtype === 'float32' ? new Float32Array(copy.buffer, 0, count)
      : spec.dtype === 'int32' ? new Int32Array(copy.buffer, 0, count)
      : copy;
  } else if (q.dtype === 'float16') {
    const half = new Uint16Array(copy.buffer, 0, count);
    values = Float32Array.from(half, halfToFloat);
  } else {
    const stored = q.dtype === 'uint8' ? copy : new Uint16Array(copy.buffer, 0, count);
    values = spec.dtype === 'int32'
      ? Int32Array.from(stored, (v) => Math.round(v * q.scale + q.min))
      : Float32Array.from(stored, (v) => v * q.scale + q.min);
  }
  return { name: spec.name, shape: spec.shape, dtype: spec.dtype, values, quantized: q?.dtype ?? null, ...(spec.group ? { group: spec.group } : {}) };
}

/** IEEE 754 half precision bits to a number (subnormals, infinities and NaN included). */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function byteLength(spec: SpecEntry): number {
  const count = spec.shape.reduce((a, b) => a * b, 1);
  return count * VALUE_BYTES[spec.quantization?.dtype ?? spec.dtype];
}

function parseJson(text: string, file: string): Record<string, unknown> {
  if (text.trim() === '') throw new InputError(`${file}: the file is empty, not a TensorFlow.js model.json`);
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new InputError(`${file}: not valid JSON, perhaps truncated (${text.length} characters): ${message}`);
  }
  checkModelJson(json, file);
  return json;
}

function checkModelJson(json: unknown, file: string): asserts json is Record<string, unknown> {
  if (!isObject(json)) throw new InputError(`${file}: not a TensorFlow.js model.json (the JSON is not an object)`);
  if (json.format === 'graph-model') {
    throw new InputError(`${file}: a TensorFlow.js graph model; nettrim prunes Layers models (format 'layers-model', from model.save() or tensorflowjs_converter --output_format tfjs_layers_model)`);
  }
  if (!isObject(json.modelTopology)) throw new InputError(`${file}: no modelTopology: not a TensorFlow.js Layers model.json`);
}

/** The manifest's groups with each entry checked (name, shape, dtype, quantization). */
function manifestGroups(json: Record<string, unknown>, file: string): Array<{ paths: string[]; weights: SpecEntry[] }> {
  const manifest = json.weightsManifest;
  if (!Array.isArray(manifest)) throw new InputError(`${file}: no weightsManifest: the model.json lists no weights`);
  return manifest.map((group: unknown, g) => {
    const where = `weightsManifest group ${g + 1}`;
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new InputError(`${file}: ${where} needs 'paths' and 'weights' arrays`);
    }
    const paths = group.paths.map((p: unknown) => {
      if (typeof p !== 'string' || p === '') throw new InputError(`${file}: ${where} has a path that is not a file name: ${jsonText(p)}`);
      return p;
    });
    if (paths.length === 0 && group.weights.length > 0) throw new InputError(`${file}: ${where} lists weights but no shard files`);
    return { paths, weights: group.weights.map((w: unknown) => specEntry(w, `${file}: ${where}`)) };
  });
}

function specEntry(w: unknown, where: string): SpecEntry {
  if (!isObject(w) || typeof w.name !== 'string') throw new InputError(`${where}: a weight entry without a name`);
  const label = `${where}: weight '${clip(w.name)}'`;
  const shape = w.shape;
  if (!Array.isArray(shape) || shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)) {
    throw new InputError(`${label} has an invalid shape ${jsonText(shape)}`);
  }
  if (w.dtype !== 'float32' && w.dtype !== 'int32' && w.dtype !== 'bool') {
    throw new InputError(`${label} has dtype ${jsonText(w.dtype)}; nettrim reads float32, int32 and bool weights`);
  }
  let quantization: SpecEntry['quantization'] = null;
  if (w.quantization !== undefined && w.quantization !== null) {
    if (!isObject(w.quantization)) throw new InputError(`${label} has a quantization that is not an object: ${jsonText(w.quantization)}`);
    const q = w.quantization;
    if (q.dtype === 'float16') {
      if (w.dtype !== 'float32') throw new InputError(`${label}: float16 quantization of a ${w.dtype} weight`);
      quantization = { dtype: 'float16', scale: 1, min: 0 };
    } else if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      if (!Number.isFinite(q.scale) || !Number.isFinite(q.min)) {
        throw new InputError(`${label}: ${q.dtype} quantization needs finite 'scale' and 'min', got ${jsonText(q)}`);
      }
      if (w.dtype === 'bool') throw new InputError(`${label}: a quantized bool weight`);
      quantization = { dtype: q.dtype, scale: q.scale as number, min: q.min as number };
    } else {
      throw new InputError(`${label} has quantization dtype ${jsonText(q.dtype)}; known: uint8, uint16, float16`);
    }
  }
  return {
    name: w.name, shape: shape as number[], dtype: w.dtype, quantization,
    ...(typeof w.group === 'string' ? { group: w.group } : {}),
  };
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

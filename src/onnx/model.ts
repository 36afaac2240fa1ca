// Reading an ONNX model: decode with the official schema, validate what a hostile or broken file
// could get wrong, and read float32 initializers. Writing is in patch.ts (only weight values change).
import { densifySparseInitializers } from './densify.ts';
import { listText } from '../io/format.ts';
import { readRegularFile } from '../io/read.ts';
import { InputError } from '../errors.ts';
import { FLOAT, dataTypeName, onnx, toInt, type GraphProto, type ModelProto, type TensorProto } from './proto.ts';

/** A decoded model and the exact bytes it came from (never modified: outputs are patched copies). */
export interface OnnxModel {
  /** The file as read (sparse initializers, if any, stored dense: densify.ts). */
  readonly bytes: Uint8Array;
  /** Decoded with onnx-proto (schema of onnx 1.10); fields newer than that survive in `bytes` only. */
  readonly proto: ModelProto;
  readonly graph: GraphProto;
  /** Main-graph initializers by name. */
  readonly initializers: ReadonlyMap<string, TensorProto>;
  /** The path or label used in error messages. */
  readonly source: string;
}

/** TensorProto.DataLocation.EXTERNAL: the values live in another file. */
const EXTERNAL = 1;

/** Reads and validates an ONNX file; every failure is an InputError naming the file. */
export async function readModel(path: string): Promise<OnnxModel> {
  // Only a regular file, its size checked before reading: a device or a FIFO is refused at once.
  const bytes = await readRegularFile(path, 'the model', MAX_MODEL_BYTES, 'protobuf messages, and so .onnx files, are limited to 2 GiB');
  return parseModel(bytes, path);
}

/** A protobuf message (an .onnx file without external data) is at most 2 GiB. */
const MAX_MODEL_BYTES = 2 ** 31 - 1;

/** Decodes and validates ONNX bytes. `source` names them in messages. */
export function parseModel(file: Uint8Array, source = 'model'): OnnxModel {
  if (file.length === 0) throw new InputError(`${source}: the file is empty, not an ONNX model`);
  let bytes = file, proto = decode(bytes, source);
  if ((proto.graph?.sparseInitializer ?? []).length > 0) {
    bytes = densifySparseInitializers(file, source);
    proto = decode(bytes, source);
  }
  const graph = proto.graph;
  if (toInt(proto.irVersion) <= 0 || !graph || (graph.node ?? []).length === 0) {
    throw new InputError(
      `${source}: not an ONNX model (decoded as protobuf but has no ir_version or no graph nodes)`,
    );
  }
  if ((proto.opsetImport ?? []).length === 0) {
    throw new InputError(`${source}: not a valid ONNX model: it imports no operator set (opset_import)`);
  }
  const initializers = new Map<string, TensorProto>();
  for (const tensor of graph.initializer ?? []) {
    checkInitializer(tensor, source);
    initializers.set(tensor.name ?? '', tensor);
  }
  if ((graph.output ?? []).length === 0) {
    throw new InputError(`${source}: not a usable ONNX model: the graph declares no outputs`);
  }
  return { bytes, proto, graph, initializers, source };
}

/** The values of a float32 initializer (raw_data little-endian, or float_data). */
export function initializerValues(model: OnnxModel, name: string): Float32Array {
  const tensor = model.initializers.get(name);
  if (!tensor) throw new InputError(`${model.source}: no initializer named '${name}'`);
  if (tensor.dataType !== FLOAT) {
    throw new InputError(`${model.source}: initializer '${name}' is ${dataTypeName(tensor.dataType)}, not float32`);
  }
  const count = elementCount(tensor);
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    const out = new Float32Array(count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  return Float32Array.from(tensor.floatData ?? []);
}

/** The dims of a tensor as numbers. */
export function tensorDims(tensor: TensorProto): number[] {
  return (tensor.dims ?? []).map(toInt);
}

/** Product of the dims (1 for a scalar). */
export function elementCount(tensor: TensorProto): number {
  return tensorDims(tensor).reduce((a, b) => a * b, 1);
}

function decode(bytes: Uint8Array, source: string): ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (err) {
    if (err instanceof RangeError && /call stack/i.test(err.message)) {
      throw new InputError(`${source}: not a usable ONNX model: messages nested too deeply (corrupt or hostile file)`);
    }
    const message = err instanceof Error ? err.message : String(err);
    const truncated = /index out of range/i.test(message);
    throw new InputError(
      truncated
        ? `${source}: not an ONNX model, or a truncated one: a protobuf field runs past the end of the ${bytes.length}-byte file (${message})`
        : `${source}: not an ONNX model: protobuf decoding failed (${message})`,
    );
  }
}

/** Refuses external data and float32 initializers whose stored size disagrees with their dims. */
function checkInitializer(tensor: TensorProto, source: string): void {
  const name = tensor.name ?? '';
  if (tensor.dataLocation === EXTERNAL || (tensor.externalData ?? []).length > 0) {
    throw new InputError(
      `${source}: initializer '${name}' keeps its values in an external data file, which nettrim does not support; ` +
        'save the model with every tensor inside the .onnx file (onnx.save_model(m, path, save_as_external_data=False))',
    );
  }
  const dims = tensorDims(tensor);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    // int64 dims printed exactly (9223372036854775807, not 9223372036854776000)
    throw new InputError(`${source}: initializer '${name}' has invalid dims [${listText((tensor.dims ?? []).map(String))}]`);
  }
  if (tensor.dataType !== FLOAT) return;
  const count = elementCount(tensor);
  const raw = tensor.rawData?.length ?? 0;
  const stored = raw > 0 ? raw / 4 : (tensor.floatData ?? []).length;
  if (stored !== count) {
    throw new InputError(
      `${source}: initializer '${name}' stores ${stored} float32 values for dims [${listText(dims)}] (${count} expected): corrupt file`,
    );
  }
}

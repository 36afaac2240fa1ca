// Compact files for element-wise pruned models: a mostly-zero float32 initializer is written as an
// ONNX sparse_initializer (GraphProto field 15: the nonzero values and their positions) instead of
// a dense one. onnxruntime turns it back into the dense tensor when it loads the model, so every
// operator (Gemm, MatMul, Conv) sees the same weights as before and computes the same outputs.
// As in patch.ts, every other byte of the file is copied as it was: the graph's other fields are
// copied verbatim, only the replaced initializers are left out and the sparse ones appended.
import protobuf from 'protobufjs/minimal.js';
import { concat, varint } from './densify.ts';
import { InputError } from '../errors.ts';
import { elementCount, tensorDims, type OnnxModel } from './model.ts';
import { patchInitializers } from './patch.ts';
import { FLOAT, onnx } from './proto.ts';

const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const GRAPH_SPARSE_INITIALIZER = 15;
const TENSOR_NAME = 8;
const LENGTH_DELIMITED = 2;
/** Signed index element types: TensorProto.DataType code and bytes (onnxruntime refuses unsigned ones). */
const INDEX_TYPES = [
  { code: 3, bytes: 1, limit: 2 ** 7 }, // int8
  { code: 5, bytes: 2, limit: 2 ** 15 }, // int16
  { code: 6, bytes: 4, limit: 2 ** 31 }, // int32
  { code: 7, bytes: 8, limit: Infinity }, // int64
] as const;
type IndexType = (typeof INDEX_TYPES)[number];

/**
 * How the positions of the kept weights are stored, as linear indices (ascending):
 * 'compact', in the smallest signed integer type that holds the tensor's largest index (int8 to
 * int32: onnxruntime loads all of them); 'int64', the only type the ONNX checker accepts.
 */
export type SparseIndexType = 'compact' | 'int64';

/** One initializer written in sparse form. */
export interface SparseTensorFigures {
  name: string;
  elements: number;
  nonzero: number;
  /** Bytes of the dense payload it replaces and of the sparse payload (values + indices). */
  denseBytes: number;
  sparseBytes: number;
}

export interface SparseWrite {
  bytes: Uint8Array;
  /** The initializers converted; the others stayed dense (sparse would not have been smaller). */
  converted: SparseTensorFigures[];
}

/**
 * The model with `values` in place of the trained tensors (as patchInitializers writes them), and
 * each of those tensors whose sparse form is smaller stored as a sparse_initializer.
 */
export function writeSparse(model: OnnxModel, values: ReadonlyMap<string, Float32Array>, indexType: SparseIndexType = 'compact'): SparseWrite {
  const dense = values.size === 0 ? model.bytes : patchInitializers(model, values);
  const sparse = new Map<string, Uint8Array>();
  const converted: SparseTensorFigures[] = [];
  for (const [name, data] of values) {
    const tensor = model.initializers.get(name);
    if (!tensor || tensor.dataType !== FLOAT) throw new InputError(`${model.source}: no float32 initializer named '${name}' to write sparse`);
    const elements = elementCount(tensor);
    const type = indexType === 'int64' ? INDEX_TYPES[3] : INDEX_TYPES.find((t) => elements <= t.limit)!;
    const nonzero = countNonzero(data);
    const sparseBytes = nonzero * (4 + type.bytes);
    if (sparseBytes >= 4 * elements) continue; // not smaller: stays dense
    sparse.set(name, encodeSparse(name, tensorDims(tensor), data, nonzero, type));
    converted.push({ name, elements, nonzero, denseBytes: 4 * elements, sparseBytes });
  }
  if (sparse.size === 0) return { bytes: dense, converted };
  return { bytes: replaceInitializers(dense, sparse, model.source), converted };
}

/** A SparseTensorProto: the nonzero values (named like the tensor) and their linear positions, ascending. */
function encodeSparse(name: string, dims: number[], data: Float32Array, nonzero: number, type: IndexType): Uint8Array {
  const values = new Uint8Array(4 * nonzero), indices = new Uint8Array(type.bytes * nonzero);
  const v = new DataView(values.buffer), x = new DataView(indices.buffer);
  let k = 0;
  for (let i = 0; i < data.length; i++) {
    if (data[i] === 0) continue;
    v.setFloat32(4 * k, data[i]!, true); // ONNX raw_data is little-endian whatever the platform
    if (type.bytes === 1) x.setInt8(k, i);
    else if (type.bytes === 2) x.setInt16(2 * k, i, true);
    else if (type.bytes === 4) x.setInt32(4 * k, i, true);
    else x.setBigInt64(8 * k, BigInt(i), true);
    k++;
  }
  return onnx.SparseTensorProto.encode({
    values: { name, dims: [nonzero], dataType: FLOAT, rawData: values },
    indices: { dims: [nonzero], dataType: type.code, rawData: indices },
    dims,
  }).finish();
}

/** Rewrites every graph field: the named initializers left out, their sparse forms appended. */
function replaceInitializers(bytes: Uint8Array, sparse: ReadonlyMap<string, Uint8Array>, source: string): Uint8Array {
  const out: Uint8Array[] = [];
  const reader = protobuf.Reader.create(bytes);
  let graphs = 0;
  const removed = new Set<string>();
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    if (tag >>> 3 === MODEL_GRAPH && (tag & 7) === LENGTH_DELIMITED) {
      const length = reader.uint32();
      const graph = rewriteGraph(bytes.subarray(reader.pos, reader.pos + length), sparse, removed, graphs++ === 0);
      reader.skip(length);
      out.push(varint(tag), varint(graph.length), graph);
    } else {
      reader.skipType(tag & 7);
      out.push(bytes.subarray(start, reader.pos));
    }
  }
  for (const name of sparse.keys()) {
    if (!removed.has(name)) throw new InputError(`${source}: cannot write initializer '${name}' sparse: not found in the graph`);
  }
  return concat(out);
}

/** One graph message: its fields copied, the replaced initializers dropped; the first graph gets the sparse ones. */
function rewriteGraph(bytes: Uint8Array, sparse: ReadonlyMap<string, Uint8Array>, removed: Set<string>, first: boolean): Uint8Array {
  const out: Uint8Array[] = [];
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    if (tag >>> 3 === GRAPH_INITIALIZER && (tag & 7) === LENGTH_DELIMITED) {
      const length = reader.uint32();
      const name = tensorName(bytes.subarray(reader.pos, reader.pos + length));
      reader.skip(length);
      if (sparse.has(name)) {
        removed.add(name);
        continue;
      }
    } else {
      reader.skipType(tag & 7);
    }
    out.push(bytes.subarray(start, reader.pos));
  }
  if (first) for (const encoded of sparse.values()) out.push(varint((GRAPH_SPARSE_INITIALIZER << 3) | LENGTH_DELIMITED), varint(encoded.length), encoded);
  return concat(out);
}

function tensorName(bytes: Uint8Array): string {
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === TENSOR_NAME && (tag & 7) === LENGTH_DELIMITED) return reader.string();
    reader.skipType(tag & 7);
  }
  return '';
}

function countNonzero(a: Float32Array): number {
  let c = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) c++;
  return c;
}

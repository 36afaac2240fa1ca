// Reading models with sparse_initializer entries (as nettrim writes them, sparse.ts): each becomes
// an ordinary dense initializer, as onnxruntime does when it loads such a model, so the rest of
// nettrim (layer discovery, signals, patching) sees one kind of weight. Only the graph changes;
// every other field of the file is copied as it was.
import protobuf from 'protobufjs/minimal.js';
import { InputError } from '../errors.ts';
import { FLOAT, dataTypeName, onnx, toInt, type TensorProto } from './proto.ts';

type SparseTensorProto = ReturnType<typeof onnx.SparseTensorProto.decode>;

const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const GRAPH_SPARSE_INITIALIZER = 15;
const LENGTH_DELIMITED = 2;

/** Index element types onnxruntime accepts: code -> bytes. */
const INDEX_BYTES: Readonly<Record<number, number>> = { 3: 1, 5: 2, 6: 4, 7: 8 };

/** The model bytes with every sparse initializer of the main graph stored dense (the bytes as they are when it has none). */
export function densifySparseInitializers(bytes: Uint8Array, source: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const reader = protobuf.Reader.create(bytes);
  let changed = false;
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    if (tag >>> 3 === MODEL_GRAPH && (tag & 7) === LENGTH_DELIMITED) {
      const length = reader.uint32();
      const graph = bytes.subarray(reader.pos, reader.pos + length);
      reader.skip(length);
      const dense = densifyGraph(graph, source);
      changed ||= dense !== graph;
      parts.push(varint(tag), varint(dense.length), dense);
    } else {
      reader.skipType(tag & 7);
      parts.push(bytes.subarray(start, reader.pos));
    }
  }
  return changed ? concat(parts) : bytes;
}

function densifyGraph(bytes: Uint8Array, source: string): Uint8Array {
  const parts: Uint8Array[] = [];
  const reader = protobuf.Reader.create(bytes);
  let changed = false;
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    if (tag >>> 3 === GRAPH_SPARSE_INITIALIZER && (tag & 7) === LENGTH_DELIMITED) {
      const length = reader.uint32();
      const sparse = onnx.SparseTensorProto.decode(bytes.subarray(reader.pos, reader.pos + length));
      reader.skip(length);
      const dense = onnx.TensorProto.encode(toDense(sparse, source)).finish();
      parts.push(varint((GRAPH_INITIALIZER << 3) | LENGTH_DELIMITED), varint(dense.length), dense);
      changed = true;
    } else {
      reader.skipType(tag & 7);
      parts.push(bytes.subarray(start, reader.pos));
    }
  }
  return changed ? concat(parts) : bytes;
}

/** A float32 SparseTensorProto (linear [NNZ] or coordinate [NNZ, rank] indices) as a dense tensor. */
function toDense(sparse: SparseTensorProto, source: string): TensorProto {
  const values = sparse.values, indices = sparse.indices;
  const name = values?.name ?? '';
  const dims = (sparse.dims ?? []).map(toInt);
  const fail = (why: string) => new InputError(`${source}: sparse initializer '${name}' ${why}`);
  if (!values || values.dataType !== FLOAT) throw fail(`holds ${dataTypeName(values?.dataType)} values; nettrim reads float32 ones only`);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) throw fail(`has invalid dims [${dims.join(', ')}]`);
  const count = dims.reduce((a, b) => a * b, 1);
  const nonzero = values.rawData?.length ? values.rawData.length / 4 : (values.floatData ?? []).length;
  const at = valueReader(values);
  const positions = linearIndices(indices, nonzero, dims, fail);
  const raw = new Uint8Array(4 * count), out = new DataView(raw.buffer);
  for (let k = 0; k < nonzero; k++) {
    const i = positions(k);
    if (!(i >= 0 && i < count)) throw fail(`has index ${i} outside its ${count} entries`);
    out.setFloat32(4 * i, at(k), true);
  }
  return { name, dims, dataType: FLOAT, rawData: raw };
}

function valueReader(t: TensorProto): (k: number) => number {
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return (k) => view.getFloat32(4 * k, true);
  }
  const data = t.floatData ?? [];
  return (k) => data[k]!;
}

/** The k-th position as a linear index, from [NNZ] linear or [NNZ, rank] coordinate indices. */
function linearIndices(t: TensorProto | null | undefined, nonzero: number, dims: number[], fail: (why: string) => Error): (k: number) => number {
  if (nonzero === 0) return () => 0;
  if (!t) throw fail('has values but no indices');
  const width = INDEX_BYTES[t.dataType ?? 0];
  if (width === undefined) throw fail(`has ${dataTypeName(t.dataType)} indices (int8, int16, int32 or int64 expected)`);
  const idims = (t.dims ?? []).map(toInt);
  const raw = t.rawData;
  const stored = raw && raw.length > 0 ? raw.length / width : ((t.dataType === 7 ? t.int64Data : t.int32Data) ?? []).length;
  const coordinates = idims.length === 2 ? idims[1]! : 1;
  if (stored !== nonzero * coordinates || (coordinates !== 1 && coordinates !== dims.length)) {
    throw fail(`has ${stored} index values for ${nonzero} values of a rank-${dims.length} tensor`);
  }
  const read = indexReader(t, width);
  if (coordinates === 1) return read;
  return (k) => {
    let i = 0;
    for (let d = 0; d < dims.length; d++) i = i * dims[d]! + read(k * coordinates + d);
    return i;
  };
}

function indexReader(t: TensorProto, width: number): (k: number) => number {
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (width === 1) return (k) => view.getInt8(k);
    if (width === 2) return (k) => view.getInt16(2 * k, true);
    if (width === 4) return (k) => view.getInt32(4 * k, true);
    return (k) => Number(view.getBigInt64(8 * k, true));
  }
  const data = (t.dataType === 7 ? t.int64Data : t.int32Data) ?? [];
  return (k) => toInt(data[k] as number);
}

/** A protobuf varint (tags and lengths). */
export function varint(value: number): Uint8Array {
  return protobuf.Writer.create().uint32(value).finish();
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

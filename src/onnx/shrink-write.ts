// Writing the smaller ONNX model of the network surgery (shrink.ts): a copy of the file in which
// the resized initializers are re-encoded with their new dims and values, the nodes whose `group`
// changed are re-encoded, and the value_info shapes of resized tensors are dropped (onnxruntime
// infers them again). Every other field, in the graph and around it, is copied byte for byte, as
// patch.ts and sparse.ts do.
import protobuf from 'protobufjs/minimal.js';
import { concat, varint } from './densify.ts';
import { InputError } from '../errors.ts';
import { nodeLabel, onnx } from './proto.ts';

const MODEL_GRAPH = 7;
const GRAPH_NODE = 1;
const GRAPH_INITIALIZER = 5;
const GRAPH_INPUT = 11;
const GRAPH_VALUE_INFO = 13;
const LENGTH_DELIMITED = 2;
const INT64 = 7;

/** What the surgery changes in the file. */
export interface GraphEdits {
  /** float32 initializers by name: new dims and values. */
  floats: ReadonlyMap<string, { dims: number[]; values: Float32Array }>;
  /** int64 initializers (Reshape shapes) by name: new values, same dims. */
  int64s: ReadonlyMap<string, number[]>;
  /** Node label -> new value of its `group` attribute. */
  groups: ReadonlyMap<string, number>;
  /** Tensors whose value_info shapes are stale. */
  staleShapes: ReadonlySet<string>;
}

/** The model bytes with `edits` applied; every named initializer and node must be found. */
export function applyGraphEdits(bytes: Uint8Array, edits: GraphEdits, source: string): Uint8Array {
  const found = new Set<string>();
  const out: Uint8Array[] = [];
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    if (tag >>> 3 === MODEL_GRAPH && (tag & 7) === LENGTH_DELIMITED) {
      const length = reader.uint32();
      const graph = editGraph(bytes.subarray(reader.pos, reader.pos + length), edits, found);
      reader.skip(length);
      out.push(varint(tag), varint(graph.length), graph);
    } else {
      reader.skipType(tag & 7);
      out.push(bytes.subarray(start, reader.pos));
    }
  }
  const wanted = [...edits.floats.keys(), ...edits.int64s.keys(), ...[...edits.groups.keys()].map((n) => `node ${n}`)];
  const missing = wanted.filter((n) => !found.has(n));
  if (missing.length > 0) throw new InputError(`${source}: the surgery cannot find ${missing.join(', ')} in the graph`);
  return concat(out);
}

function editGraph(bytes: Uint8Array, edits: GraphEdits, found: Set<string>): Uint8Array {
  const out: Uint8Array[] = [];
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    const field = tag >>> 3;
    if ((tag & 7) !== LENGTH_DELIMITED || ![GRAPH_NODE, GRAPH_INITIALIZER, GRAPH_INPUT, GRAPH_VALUE_INFO].includes(field)) {
      reader.skipType(tag & 7);
      out.push(bytes.subarray(start, reader.pos));
      continue;
    }
    const length = reader.uint32();
    const message = bytes.subarray(reader.pos, reader.pos + length);
    reader.skip(length);
    const edited = editField(field, message, edits, found);
    if (edited === null) continue; // dropped
    out.push(edited === message ? bytes.subarray(start, reader.pos) : concat([varint(tag), varint(edited.length), edited]));
  }
  return concat(out);
}

/** The field's new bytes, the same array when unchanged, or null to drop it. */
function editField(field: number, message: Uint8Array, edits: GraphEdits, found: Set<string>): Uint8Array | null {
  if (field === GRAPH_NODE) {
    const node = onnx.NodeProto.decode(message);
    const group = edits.groups.get(nodeLabel(node));
    if (group === undefined) return message;
    found.add(`node ${nodeLabel(node)}`);
    const attribute = node.attribute.find((a) => a.name === 'group');
    if (attribute) attribute.i = group;
    else node.attribute.push(onnx.AttributeProto.create({ name: 'group', type: onnx.AttributeProto.AttributeType.INT, i: group }));
    return onnx.NodeProto.encode(node).finish();
  }
  if (field === GRAPH_INITIALIZER) {
    const tensor = onnx.TensorProto.decode(message);
    const float = edits.floats.get(tensor.name);
    const int64 = edits.int64s.get(tensor.name);
    if (!float && !int64) return message;
    found.add(tensor.name);
    if (float) {
      tensor.dims = float.dims;
      tensor.floatData = [];
      tensor.rawData = littleEndianFloats(float.values);
    } else {
      tensor.int64Data = [];
      tensor.rawData = littleEndianInt64s(int64!);
      tensor.dataType = INT64;
    }
    return onnx.TensorProto.encode(tensor).finish();
  }
  const info = onnx.ValueInfoProto.decode(message);
  if (field === GRAPH_VALUE_INFO) return edits.staleShapes.has(info.name) ? null : message;
  // a graph input that names a resized initializer (IR < 4 lists them): its declared dims follow
  const float = edits.floats.get(info.name);
  const shape = info.type?.tensorType?.shape;
  if (!float || !shape) return message;
  shape.dim = float.dims.map((d) => onnx.TensorShapeProto.Dimension.create({ dimValue: d }));
  return onnx.ValueInfoProto.encode(info).finish();
}

/** float32 values as ONNX raw_data (little-endian whatever the platform). */
function littleEndianFloats(values: Float32Array): Uint8Array {
  const raw = new Uint8Array(4 * values.length);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i]!, true);
  return raw;
}

function littleEndianInt64s(values: readonly number[]): Uint8Array {
  const raw = new Uint8Array(8 * values.length);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return raw;
}

// Writing a pruned model: overwrite the float32 payloads of the changed initializers inside a copy
// of the original bytes. Every other byte stays as it was, so every node, attribute, opset import,
// input, output and metadata entry survives, including fields newer than the schema we decode with.
// The walk uses protobufjs's Reader (the library onnx-proto is generated for) to find the payloads.
import protobuf from 'protobufjs/minimal.js';
import { InputError } from '../errors.ts';
import { parseModel, initializerValues, type OnnxModel } from './model.ts';
import { onnx } from './proto.ts';

/** Field numbers from onnx.proto. */
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_FLOAT_DATA = 4;
const TENSOR_NAME = 8;
const TENSOR_RAW_DATA = 9;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

/** Where one initializer's float32 values sit in the file: runs of [byte offset, value count]. */
export interface Payload {
  name: string;
  runs: Array<[offset: number, count: number]>;
}

/**
 * Returns a copy of the model's bytes where each named float32 initializer holds the new values
 * (same element count as before). The result is decoded again and checked value by value.
 */
export function patchInitializers(model: OnnxModel, values: ReadonlyMap<string, Float32Array>): Uint8Array {
  const payloads = locatePayloads(model.bytes);
  const out = new Uint8Array(model.bytes);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const [name, data] of values) {
    const payload = payloads.get(name);
    if (!payload) throw new InputError(`${model.source}: cannot write initializer '${name}': not found in the graph`);
    const count = payload.runs.reduce((n, [, c]) => n + c, 0);
    if (count !== data.length) {
      throw new Error(`initializer '${name}' holds ${count} values, cannot write ${data.length}`);
    }
    let i = 0;
    for (const [offset, runCount] of payload.runs) {
      for (let k = 0; k < runCount; k++) view.setFloat32(offset + 4 * k, data[i++]!, true);
    }
  }
  verifyPatch(out, model.source, values);
  return out;
}

/** Finds the float32 payload (raw_data or float_data) of every main-graph initializer. */
export function locatePayloads(bytes: Uint8Array): Map<string, Payload> {
  const found = new Map<string, Payload>();
  const reader = protobuf.Reader.create(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === MODEL_GRAPH && (tag & 7) === LENGTH_DELIMITED) {
      const end = reader.uint32() + reader.pos;
      walkGraph(reader, end, found);
    } else {
      reader.skipType(tag & 7);
    }
  }
  return found;
}

/**
 * The model bytes with extra graph outputs appended, so a runtime returns those intermediate
 * tensors too. Protobuf merges a repeated message field: a second `graph` entry holding only
 * outputs adds them to the graph without re-encoding (and so without losing) anything else.
 */
export function withExtraOutputs(bytes: Uint8Array, names: readonly string[]): Uint8Array {
  if (names.length === 0) return bytes;
  const graph = onnx.GraphProto.encode({ output: names.map((name) => ({ name })) }).finish();
  const tail = protobuf.Writer.create().uint32((MODEL_GRAPH << 3) | LENGTH_DELIMITED).bytes(graph).finish();
  const out = new Uint8Array(bytes.length + tail.length);
  out.set(bytes, 0);
  out.set(tail, bytes.length);
  return out;
}

function walkGraph(reader: protobuf.Reader, end: number, found: Map<string, Payload>): void {
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag >>> 3 === GRAPH_INITIALIZER && (tag & 7) === LENGTH_DELIMITED) {
      const tensorEnd = reader.uint32() + reader.pos;
      const payload = walkTensor(reader, tensorEnd);
      if (found.has(payload.name)) throw new InputError(`two initializers are named '${payload.name}'`);
      found.set(payload.name, payload);
    } else {
      reader.skipType(tag & 7);
    }
  }
}

function walkTensor(reader: protobuf.Reader, end: number): Payload {
  const payload: Payload = { name: '', runs: [] };
  while (reader.pos < end) {
    const tag = reader.uint32();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === TENSOR_NAME && wire === LENGTH_DELIMITED) {
      payload.name = reader.string();
    } else if ((field === TENSOR_RAW_DATA || field === TENSOR_FLOAT_DATA) && wire === LENGTH_DELIMITED) {
      const length = reader.uint32();
      if (length > 0) payload.runs.push([reader.pos, length >>> 2]); // packed floats or raw bytes
      reader.skip(length);
    } else if (field === TENSOR_FLOAT_DATA && wire === FIXED32) {
      payload.runs.push([reader.pos, 1]); // unpacked repeated float: one value per tag
      reader.skip(4);
    } else {
      reader.skipType(wire);
    }
  }
  return payload;
}

/** Decodes the patched bytes and checks every written value, bit for bit. */
function verifyPatch(out: Uint8Array, source: string, values: ReadonlyMap<string, Float32Array>): void {
  const patched = parseModel(out, source);
  for (const [name, data] of values) {
    const back = initializerValues(patched, name);
    for (let i = 0; i < data.length; i++) {
      if (!Object.is(back[i], data[i]) && !(Number.isNaN(back[i]) && Number.isNaN(data[i]))) {
        throw new Error(`patching initializer '${name}' failed at value ${i}: wrote ${data[i]}, read back ${back[i]}`);
      }
    }
  }
}

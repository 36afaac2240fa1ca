// ONNX reading, validation and in-place writing: everything but the weight values survives.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import protobuf from 'protobufjs/minimal.js';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { InputError } from '../src/errors.ts';
import { initializerValues, parseModel } from '../src/onnx/model.ts';
import { locatePayloads, patchInitializers, withExtraOutputs } from '../src/onnx/patch.ts';
import { onnx } from '../src/onnx/proto.ts';

function mlpBytes(): Uint8Array {
  const w1 = Array.from({ length: 12 }, (_, i) => Math.sin(i + 1));
  const w2 = Array.from({ length: 6 }, (_, i) => Math.cos(i + 1));
  return new GraphBuilder('mlp')
    .input('x', ['batch', 4])
    .initializer('W1', [3, 4], w1)
    .initializer('b1', [3], [0.1, 0.2, 0.3])
    .initializer('W2', [3, 2], w2, true) // float_data storage
    .initializer('b2', [2], [0.5, -0.5], true)
    .node('Gemm', ['x', 'W1', 'b1'], ['h'], { transB: 1, alpha: 0.5, beta: { f: 1 } }, 'fc1')
    .node('Relu', ['h'], ['a'], {}, 'relu1')
    .node('Gemm', ['a', 'W2', 'b2'], ['y'], {}, 'fc2')
    .output('y', ['batch', 2])
    .toBytes({ docString: 'a test model', metadata: { author: 'test', license: 'MIT' }, opset: 13 });
}

/** A decoded model as plain data, with the values of the named initializers removed. */
function withoutValues(bytes: Uint8Array, names: string[]): unknown {
  const object = onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: String, bytes: String, defaults: true });
  for (const tensor of object.graph.initializer) {
    if (names.includes(tensor.name)) {
      tensor.rawData = '';
      tensor.floatData = [];
    }
  }
  return object;
}

test('patching changes only the named weight values, field by field', () => {
  const bytes = mlpBytes();
  const model = parseModel(bytes, 'mlp');
  const w1 = new Float32Array(12).map((_, i) => (i % 3 === 0 ? 0 : i));
  const w2 = new Float32Array([0, 1, 0, 2, 0, 3]);
  const out = patchInitializers(model, new Map([['W1', w1], ['W2', w2]]));
  assert.equal(withoutValues(out, ['W1', 'W2']), withoutValues(bytes, ['W1', 'W2']));
  assert.not.equal(withoutValues(out, []), withoutValues(bytes, []));
  const back = parseModel(out, 'out');
  assert.equal(Array.from(initializerValues(back, 'W1')), Array.from(w1));
  assert.equal(Array.from(initializerValues(back, 'W2')), Array.from(w2));
  assert.equal(Array.from(initializerValues(back, 'b1')), Array.from(initializerValues(model, 'b1')));
  assert.is(out.length, bytes.length);
  assert.equal(Array.from(bytes), Array.from(model.bytes), 'the input bytes are not modified');
});

test('every byte outside the patched payloads is kept, including fields unknown to the schema', () => {
  // Field 99 of ModelProto does not exist in onnx 1.10: a newer writer's field must survive.
  const unknown = protobuf.Writer.create().uint32((99 << 3) | 2).string('from the future').finish();
  const base = mlpBytes();
  const bytes = new Uint8Array([...base, ...unknown]);
  const model = parseModel(bytes, 'future');
  const payload = locatePayloads(bytes).get('W1')!;
  const out = patchInitializers(model, new Map([['W1', new Float32Array(12)]]));
  const [offset, count] = payload.runs[0]!;
  for (let i = 0; i < bytes.length; i++) {
    const inside = i >= offset && i < offset + 4 * count;
    if (!inside) assert.is(out[i], bytes[i], `byte ${i} changed`);
  }
  assert.equal(Array.from(out.subarray(base.length)), Array.from(unknown));
});

test('the patched model loads and runs in onnxruntime with the new weights', async () => {
  const model = parseModel(mlpBytes(), 'mlp');
  const out = patchInitializers(model, new Map([['W2', new Float32Array(6)]]));
  const session = await ort.InferenceSession.create(out);
  const result = await session.run({ x: new ort.Tensor('float32', new Float32Array([1, 2, 3, 4]), [1, 4]) });
  assert.equal(Array.from(result.y!.data as Float32Array), [0.5, -0.5]); // W2 = 0 leaves the bias
});

test('extra outputs expose intermediate tensors without changing the model', async () => {
  const bytes = mlpBytes();
  const session = await ort.InferenceSession.create(withExtraOutputs(bytes, ['h', 'a']));
  assert.equal([...session.outputNames].sort(), ['a', 'h', 'y']);
  const x = new ort.Tensor('float32', new Float32Array([1, -2, 3, -4]), [1, 4]);
  const r = await session.run({ x });
  const h = r.h!.data as Float32Array;
  const a = r.a!.data as Float32Array;
  for (let i = 0; i < 3; i++) assert.is(a[i], Math.max(0, h[i]!));
});

function expectInputError(fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
  } catch (err) {
    assert.instance(err, InputError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable('no error thrown');
}

test('not an ONNX file: empty, text, PNG', () => {
  expectInputError(() => parseModel(new Uint8Array(0), 'empty.onnx'), /empty.onnx: the file is empty/);
  expectInputError(() => parseModel(new TextEncoder().encode('hello, this is text\n'), 'a.txt'), /a.txt: not an ONNX model/);
  const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
  expectInputError(() => parseModel(png, 'img.png'), /img.png: not an ONNX model/);
});

test('truncated files are named as such', () => {
  const bytes = mlpBytes();
  for (const cut of [bytes.length - 1, Math.floor(bytes.length / 2), 40]) {
    expectInputError(() => parseModel(bytes.subarray(0, cut), 'cut.onnx'), /cut.onnx: not an ONNX model|truncated/);
  }
  expectInputError(() => parseModel(bytes.subarray(0, bytes.length - 3), 'cut.onnx'), /truncated/);
});

test('hostile protobuf: huge lengths, deep nesting, inconsistent tensors, external data', () => {
  // A graph field claiming 2 GB.
  const huge = protobuf.Writer.create().uint32(8).uint32(8).uint32((7 << 3) | 2).uint32(0x7ffffff0).finish();
  expectInputError(() => parseModel(huge, 'huge.onnx'), /truncated|not an ONNX model/);
  // Graphs nested through node attributes far deeper than any real model.
  let graph: Uint8Array = onnx.GraphProto.encode({ name: 'leaf' }).finish();
  for (let i = 0; i < 20000; i++) {
    const attr = protobuf.Writer.create().uint32((6 << 3) | 2).bytes(graph).finish(); // AttributeProto.g
    const node = protobuf.Writer.create().uint32((5 << 3) | 2).bytes(attr).finish(); // NodeProto.attribute
    graph = protobuf.Writer.create().uint32((1 << 3) | 2).bytes(node).finish(); // GraphProto.node
  }
  const deep = protobuf.Writer.create().uint32(8).uint32(8).uint32((7 << 3) | 2).bytes(graph).finish();
  expectInputError(() => parseModel(deep, 'deep.onnx'), /nested too deeply/);
  // Dims that disagree with the stored values.
  const lying = onnx.ModelProto.encode({
    irVersion: 8, opsetImport: [{ version: 13 }],
    graph: { node: [{ opType: 'Relu', input: ['x'], output: ['y'] }], initializer: [{ name: 'W', dims: [1000, 1000], dataType: 1, rawData: new Uint8Array(8) }] },
  }).finish();
  expectInputError(() => parseModel(lying, 'lying.onnx'), /'W' stores 2 float32 values for dims \[1000, 1000\]/);
  const external = onnx.ModelProto.encode({
    irVersion: 8, opsetImport: [{ version: 13 }],
    graph: { node: [{ opType: 'Relu', input: ['x'], output: ['y'] }], initializer: [{ name: 'W', dims: [2], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'w.bin' }] }] },
  }).finish();
  expectInputError(() => parseModel(external, 'ext.onnx'), /'W' keeps its values in an external data file/);
});

test.run();

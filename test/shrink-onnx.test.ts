// Network surgery on ONNX models (src/graph/shrink.ts, src/onnx/shrink.ts): zero-mask some neurons,
// cut them out, and check in onnxruntime that the smaller model computes what the masked one
// computes (1e-5 relative, on the held-out digits for the shipped examples), that the tensors
// really shrank, and that channels a residual Add, a Concat or a graph output reads stay, with why.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { readNpyFile } from '../src/io/npy.ts';
import { onnxBackend } from '../src/onnx/backend.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { initializerValues, parseModel, tensorDims } from '../src/onnx/model.ts';
import { intAttribute, onnx } from '../src/onnx/proto.ts';
import type { ModelBackend, WeightValues } from '../src/prune/backend.ts';
import { inputChannelOfRows } from '../src/graph/weights.ts';
import { l1NeuronValues, oneRowPerNeuron, rowsPerNeuron } from '../src/prune/l1-neurons.ts';
import type { ShrinkOutcome } from '../src/graph/shrink.ts';
import { onnxChannelWalks } from '../src/onnx/shrink.ts';
import { residualNet } from './helpers/structured-models.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples');
const digits = await readNpyFile(join(EXAMPLES, 'data', 'mnist-test-x.npy'));
const DIGITS = digits.shape[0]!;
const TOLERANCE = 1e-5;

function example(name: string, weightFormat: 'dense' | 'sparse' = 'dense'): ModelBackend<Uint8Array> {
  return onnxBackend(parseModel(readFileSync(join(EXAMPLES, 'models', name)), name), weightFormat);
}

async function outputs(bytes: Uint8Array, feed: Float32Array, dims: number[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', feed, dims) });
  return session.outputNames.map((n) => out[n]!.data as Float32Array);
}

/** max |a - b| / max |b| over every output. */
function relativeDiff(a: Float32Array[], b: Float32Array[]): number {
  let diff = 0, scale = 0;
  b.forEach((bb, k) => bb.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(a[k]![i]! - v));
    scale = Math.max(scale, Math.abs(v));
  }));
  assert.ok(scale > 0, 'the outputs are not all zero');
  return diff / scale;
}

/** Shrinks, runs both models on `feed` and checks the outputs agree; returns the outcome and the written model. */
async function shrinkAndCompare(backend: ModelBackend<Uint8Array>, values: WeightValues, feed: Float32Array, dims: number[]) {
  const masked = backend.write(values);
  const outcome = backend.shrink!(values) as ShrinkOutcome<Uint8Array>;
  const diff = relativeDiff(await outputs(outcome.model, feed, dims), await outputs(masked, feed, dims));
  assert.ok(diff <= TOLERANCE, `shrunk vs masked outputs: relative difference ${diff}`);
  return { outcome, masked, written: parseModel(outcome.model, 'shrunk') };
}

const dimsOf = (model: ReturnType<typeof parseModel>, name: string) => tensorDims(model.initializers.get(name)!);
const count = (outcome: ShrinkOutcome<Uint8Array>, name: string) => outcome.layers.find((l) => l.name === name)!;

test('MLP example: L1-cut neurons go, the written file is smaller and computes the masked outputs on 2,000 digits', async () => {
  const backend = example('mnist-mlp.onnx');
  const [fc1, fc2, fc3] = backend.layers;
  const values = l1NeuronValues(backend, [
    { producer: fc1!, keep: 120, consumers: [{ layer: fc2!, rowNeuron: oneRowPerNeuron(fc2!) }] },
    { producer: fc2!, keep: 40, consumers: [{ layer: fc3!, rowNeuron: oneRowPerNeuron(fc3!) }] },
  ]);
  const { outcome, masked, written } = await shrinkAndCompare(backend, values, digits.data as Float32Array, [DIGITS, 784]);
  assert.equal(dimsOf(written, 'fc1.weight'), [784, 120]);
  assert.equal(dimsOf(written, 'fc1.bias'), [120]);
  assert.equal(dimsOf(written, 'fc2.weight'), [120, 40]);
  assert.equal(dimsOf(written, 'fc3.weight'), [40, 10]);
  assert.equal(outcome.layers.map((l) => [l.name, l.before, l.after, l.keptDead]), [['fc1', 300, 120, 0], ['fc2', 100, 40, 0], ['fc3', 10, 10, 0]]);
  assert.is(outcome.paramsBefore, 266_610);
  assert.is(outcome.paramsAfter, 784 * 120 + 120 + 120 * 40 + 40 + 40 * 10 + 10);
  assert.is(count(outcome, 'fc1').paramsAfter, 784 * 120 + 120);
  assert.ok(outcome.model.length < 0.5 * masked.length, `${outcome.model.length} bytes vs ${masked.length}`);
  // the value_info shapes of the cut tensors are gone (stale); everything else is as it was
  const info = (written.graph.valueInfo ?? []).map((v) => v.name);
  assert.equal(info, []);
  const trained = parseModel(readFileSync(join(EXAMPLES, 'models', 'mnist-mlp.onnx'))).proto;
  const shrunk = written.proto;
  assert.equal(onnx.ModelProto.toObject(shrunk, { longs: Number }).metadataProps, onnx.ModelProto.toObject(trained, { longs: Number }).metadataProps);
  assert.equal(JSON.stringify(shrunk.graph!.node), JSON.stringify(trained.graph!.node));
  assert.equal(JSON.stringify(shrunk.graph!.output), JSON.stringify(trained.graph!.output));
  assert.equal(shrunk.graph!.initializer!.map((t) => t.name), trained.graph!.initializer!.map((t) => t.name));
  assert.is(shrunk.producerName, trained.producerName);
});

test('CNN example: filters, the next conv\'s input channels and the Gemm rows after Flatten (25 per channel) go', async () => {
  const backend = example('mnist-conv.onnx');
  const [conv1, conv2, fc1, fc2] = backend.layers;
  const values = l1NeuronValues(backend, [
    { producer: conv1!, keep: 5, consumers: [{ layer: conv2!, rowNeuron: inputChannelOfRows(conv2!) }] },
    { producer: conv2!, keep: 9, consumers: [{ layer: fc1!, rowNeuron: rowsPerNeuron(fc1!, 25) }] },
    { producer: fc1!, keep: 30, consumers: [{ layer: fc2!, rowNeuron: oneRowPerNeuron(fc2!) }] },
  ]);
  const { outcome, masked, written } = await shrinkAndCompare(backend, values, digits.data as Float32Array, [DIGITS, 1, 28, 28]);
  assert.equal(dimsOf(written, 'conv1.weight'), [5, 1, 5, 5]);
  assert.equal(dimsOf(written, 'conv2.weight'), [9, 5, 3, 3]);
  assert.equal(dimsOf(written, 'conv2.bias'), [9]);
  assert.equal(dimsOf(written, 'fc1.weight'), [9 * 25, 30]);
  assert.equal(dimsOf(written, 'fc2.weight'), [30, 10]);
  assert.equal(outcome.layers.map((l) => l.after), [5, 9, 30, 10]);
  assert.ok(outcome.model.length < masked.length / 2);
});

test('ResNet example: a channel the residual Add reads stays (keptDead, reason); a block\'s inner channels and their BN go', async () => {
  const backend = example('mnist-resnet.onnx');
  const byName = new Map(backend.layers.map((l) => [l.name, l]));
  const stem = byName.get('stem_conv')!, b11 = byName.get('block1_1_conv')!, b12 = byName.get('block1_2_conv')!;
  const values = l1NeuronValues(backend, [
    { producer: stem, keep: 5, consumers: [{ layer: b11, rowNeuron: inputChannelOfRows(b11) }] },
    { producer: b11, keep: 3, consumers: [{ layer: b12, rowNeuron: inputChannelOfRows(b12) }] },
  ]);
  const { outcome, written } = await shrinkAndCompare(backend, values, digits.data as Float32Array, [DIGITS, 1, 28, 28]);
  const s = count(outcome, 'stem_conv');
  assert.equal([s.before, s.after, s.keptDead], [8, 8, 3]);
  assert.match(s.reason ?? '', /residual Add 'block1_add'/);
  const b = count(outcome, 'block1_1_conv');
  assert.equal([b.before, b.after, b.keptDead, b.reason], [8, 3, 0, null]);
  assert.equal(dimsOf(written, 'block1_1_conv.weight'), [3, 8, 3, 3]);
  for (const t of ['scale', 'bias', 'mean', 'var']) assert.equal(dimsOf(written, `block1_1_bn.${t}`), [3]);
  assert.equal(dimsOf(written, 'block1_2_conv.weight'), [8, 3, 3, 3]);
  assert.equal(dimsOf(written, 'stem_conv.weight'), [8, 1, 3, 3]);
  assert.is(b.paramsBefore, 8 * 8 * 9 + 4 * 8);
  assert.is(b.paramsAfter, 3 * 8 * 9 + 4 * 3);
  assert.ok(outcome.paramsAfter < outcome.paramsBefore);
});

test('MobileNet example: a pointwise conv that stops reading channels removes the depthwise groups and the stem filters before them', async () => {
  const backend = example('mnist-mobilenet.onnx');
  const pw = backend.layers.find((l) => l.name === 'block1_pw_conv')!;
  const w = backend.weightValues(pw.weight); // [24, 16, 1, 1]
  const gone = [1, 4, 5, 9, 15];
  for (let o = 0; o < 24; o++) for (const c of gone) w[o * 16 + c] = 0;
  const { outcome, written } = await shrinkAndCompare(backend, new Map([[pw.weight, w]]), digits.data as Float32Array, [DIGITS, 1, 28, 28]);
  assert.equal(['stem_conv', 'block1_dw', 'block1_pw_conv'].map((n) => count(outcome, n).after), [11, 11, 24]);
  assert.equal(dimsOf(written, 'stem_conv.weight'), [11, 1, 3, 3]);
  assert.equal(dimsOf(written, 'block1_dw.weight'), [11, 1, 3, 3]);
  assert.equal(dimsOf(written, 'block1_dw_bn.var'), [11]);
  assert.equal(dimsOf(written, 'stem_bn.scale'), [11]);
  assert.equal(dimsOf(written, 'block1_pw_conv.weight'), [24, 11, 1, 1]);
  assert.equal([count(outcome, 'stem_conv').weightsBefore, count(outcome, 'stem_conv').weightsAfter], [144, 99]);
  assert.equal([count(outcome, 'block1_pw_conv').weightsBefore, count(outcome, 'block1_pw_conv').weightsAfter], [384, 264]);
  const dw = written.graph.node!.find((n) => n.name === 'block1_dw')!;
  assert.is(intAttribute(dw, 'group', 0), 11);
});

test('propagation: neurons that only feed outputs the next layer drops go too; the inputs are not modified', async () => {
  const backend = example('mnist-mlp.onnx');
  const fc2 = backend.weightValues('fc2.weight'); // [300, 100]
  const fc3 = backend.weightValues('fc3.weight'); // [100, 10]
  fc3.fill(0, 0, 50 * 10); // fc2's neurons 0..49 are read by nothing
  for (let i = 0; i < 20; i++) fc2.fill(0, i * 100 + 50, i * 100 + 100); // fc1's 0..19 feed only those
  const values = new Map([['fc2.weight', fc2], ['fc3.weight', fc3]]);
  const copies = new Map([...values].map(([k, v]) => [k, v.slice()]));
  const bytes = Buffer.from(readFileSync(join(EXAMPLES, 'models', 'mnist-mlp.onnx')));
  const { outcome, written } = await shrinkAndCompare(backend, values, digits.data as Float32Array, [DIGITS, 784]);
  assert.equal(outcome.layers.map((l) => l.after), [280, 50, 10]);
  assert.equal(dimsOf(written, 'fc2.weight'), [280, 50]);
  for (const [k, v] of values) assert.ok(Buffer.from(v.buffer).equals(Buffer.from(copies.get(k)!.buffer)), `${k} was modified`);
  assert.ok(bytes.equals(Buffer.from(readFileSync(join(EXAMPLES, 'models', 'mnist-mlp.onnx')))));
});

test('a depthwise filter that is all zero still has a read output: the channel before it stays, and why', async () => {
  const backend = example('mnist-mobilenet.onnx');
  const dw = backend.weightValues('block1_dw.weight'); // [16, 1, 3, 3]
  dw.fill(0, 2 * 9, 3 * 9);
  const { outcome } = await shrinkAndCompare(backend, new Map([['block1_dw.weight', dw]]), digits.data as Float32Array, [DIGITS, 1, 28, 28]);
  const stem = count(outcome, 'stem_conv');
  assert.equal([stem.after, stem.keptDead], [16, 1]);
  assert.match(stem.reason ?? '', /grouped Conv 'block1_dw' keeps the groups/);
});

test('ViT example: an MLP block\'s hidden units go through GELU as PyTorch writes it (x * 0.5 * (1 + Erf(x / sqrt 2)))', async () => {
  const backend = example('mnist-vit.onnx');
  const fc2 = backend.layers.find((l) => l.name === 'blocks.0.mlp.fc2')!; // MatMul [64, 32] on [N, 16, 64]
  const w = backend.weightValues(fc2.weight);
  w.fill(0, 0, 20 * 32); // hidden units 0..19
  const { outcome, written } = await shrinkAndCompare(backend, new Map([[fc2.weight, w]]), digits.data as Float32Array, [DIGITS, 1, 28, 28]);
  assert.equal(count(outcome, 'blocks.0.mlp.fc1').after, 44);
  assert.equal(dimsOf(written, 'blocks.0.mlp.fc1.weight'), [32, 44]);
  assert.equal(dimsOf(written, 'blocks.0.mlp.fc2.weight'), [44, 32]);
  // the attention projections feed LayerNorm and residual Adds: nothing else moves
  assert.equal(outcome.layers.filter((l) => l.after !== l.before).map((l) => l.name), ['blocks.0.mlp.fc1']);
});

test('a value for a tensor the model does not have is refused with its name', () => {
  const backend = example('mnist-mlp.onnx');
  assert.throws(() => backend.shrink!(new Map([['nope', new Float32Array(3)]])), /cannot write initializer 'nope'/);
});

test('sparse weight format: the shrunk model keeps the sparse initializers backend.write uses, and loads', async () => {
  const backend = example('mnist-mlp.onnx', 'sparse');
  const [fc1, fc2] = backend.layers;
  // an element-wise mask inside the survivors too: half of fc2's remaining weights zero
  const values = new Map(l1NeuronValues(backend, [{ producer: fc1!, keep: 150, consumers: [{ layer: fc2!, rowNeuron: oneRowPerNeuron(fc2!) }] }]));
  const w2 = values.get('fc2.weight')!.map((v, i) => (i % 2 ? 0 : v));
  values.set('fc2.weight', w2);
  const { outcome, masked } = await shrinkAndCompare(backend, values, digits.data as Float32Array, [DIGITS, 784]);
  const proto = parseModel(outcome.model).proto; // parseModel densifies: look at the raw message
  assert.ok(outcome.model.length < masked.length);
  assert.is(proto.graph!.initializer!.find((t) => t.name === 'fc2.weight')!.dims!.map(Number).join(), '150,100');
  const raw = onnx.ModelProto.decode(outcome.model);
  assert.equal(raw.graph!.sparseInitializer!.map((t) => t.values!.name), ['fc2.weight']);
});

/**
 * x[N,2,6,6] -> c1 Conv 4 -> Mul [4,1,1] -> Add [4,1,1] -> Relu -> MaxPool 2 -> Reshape [-1, 36]
 *   -> fc Gemm transB (W [5, 36]) -> Relu (graph output 'a' when `fcOutput`) -> out MatMul [5, 3] + Add -> y
 */
function builtNet(fcOutput: boolean, declare = true): { bytes: Uint8Array; x: Float32Array } {
  const draw = gaussian(seededRandom(11));
  const v = (n: number, s = 1) => fill(n, () => s * draw());
  const b = new GraphBuilder('built')
    .input('x', ['N', 2, 6, 6])
    .initializer('K1', [4, 2, 3, 3], v(72, 0.5)).initializer('B1', [4], v(4, 0.1))
    .node('Conv', ['x', 'K1', 'B1'], ['h1'], { pads: [1, 1, 1, 1] }, 'c1')
    .initializer('k', [4, 1, 1], [1.5, 2, 0.5, 3]).node('Mul', ['h1', 'k'], ['m1'], {}, 'mul')
    .initializer('d', [4, 1, 1], [0.1, -0.2, 0.3, 0]).node('Add', ['m1', 'd'], ['s1'], {}, 'shift')
    .node('Relu', ['s1'], ['r1'], {}, 'relu1').node('MaxPool', ['r1'], ['p1'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool')
    .initializer('shape', [2], []).node('Reshape', ['p1', 'shape'], ['f'], {}, 'reshape')
    .initializer('Wf', [5, 36], v(180, 0.3)).initializer('bf', [5], v(5, 0.1))
    .node('Gemm', ['f', 'Wf', 'bf'], ['hf'], { transB: 1 }, 'fc').node('Relu', ['hf'], ['a'], {}, 'relu2')
    .initializer('Wm', [5, 3], v(15, 0.5)).node('MatMul', ['a', 'Wm'], ['mm'], {}, 'out')
    .initializer('bm', [3], v(3, 0.1)).node('Add', ['mm', 'bm'], ['y'], {}, 'out.bias')
    .output('y', ['N', 3]);
  if (fcOutput) b.output('a', ['N', 5]);
  return { bytes: withShape(b.toBytes(), [-1n, 36n], declare), x: v(64 * 72) };
}

/**
 * The builder writes float initializers: the Reshape's shape is made int64 here, and the pooled
 * tensor's shape [N, 4, 3, 3] declared (value_info) unless `declare` is false.
 */
function withShape(bytes: Uint8Array, shape: bigint[], declare = true): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  const t = m.graph!.initializer!.find((i) => i.name === 'shape')!;
  const raw = new Uint8Array(8 * shape.length);
  shape.forEach((d, k) => new DataView(raw.buffer).setBigInt64(8 * k, d, true));
  Object.assign(t, { dataType: 7, dims: [shape.length], rawData: raw });
  if (declare) {
    const dim = [{ dimParam: 'N' }, { dimValue: 4 }, { dimValue: 3 }, { dimValue: 3 }];
    m.graph!.valueInfo = [onnx.ValueInfoProto.create({ name: 'p1', type: { tensorType: { elemType: 1, shape: { dim } } } })];
  }
  return onnx.ModelProto.encode(m).finish();
}

test('built graph: per-channel Mul/Add constants, MaxPool, a Reshape whose shape carries the channel count, Gemm transB, MatMul + Add', async () => {
  const { bytes, x } = builtNet(false);
  const backend = onnxBackend(parseModel(bytes, 'built'));
  assert.equal(backend.layers.map((l) => l.name), ['c1', 'fc', 'out']);
  const wf = backend.weightValues('Wf').slice(); // [5, 36]: channel c is columns 9c..9c+8
  for (let j = 0; j < 5; j++) for (let r = 9; r < 18; r++) wf[j * 36 + r] = 0; // channel 1
  const wm = backend.weightValues('Wm').slice(); // [5, 3]: neuron 3 of fc is row 3
  wm.fill(0, 9, 12);
  const { outcome, written } = await shrinkAndCompare(backend, new Map([['Wf', wf], ['Wm', wm]]), x, [64, 2, 6, 6]);
  assert.equal(outcome.layers.map((l) => l.after), [3, 4, 3]);
  assert.equal(dimsOf(written, 'K1'), [3, 2, 3, 3]);
  assert.equal(dimsOf(written, 'k'), [3, 1, 1]);
  assert.equal(Array.from(backend.weightValues('k')).filter((_, c) => c !== 1), Array.from(initializerValues(written, 'k')));
  assert.equal(dimsOf(written, 'd'), [3, 1, 1]);
  assert.equal(dimsOf(written, 'Wf'), [4, 27]);
  assert.equal(dimsOf(written, 'Wm'), [4, 3]);
  const shape = written.initializers.get('shape')!;
  const view = new DataView(shape.rawData!.buffer, shape.rawData!.byteOffset, 16);
  assert.equal([view.getBigInt64(0, true), view.getBigInt64(8, true)], [-1n, 27n]);
});

test('built graph: a Reshape [-1, 36] whose input shape is not declared is not trusted to flatten per sample', async () => {
  const { bytes, x } = builtNet(false, false);
  const backend = onnxBackend(parseModel(bytes, 'built'));
  const wf = backend.weightValues('Wf').slice();
  for (let j = 0; j < 5; j++) for (let r = 9; r < 18; r++) wf[j * 36 + r] = 0;
  const { outcome } = await shrinkAndCompare(backend, new Map([['Wf', wf]]), x, [64, 2, 6, 6]);
  assert.equal([count(outcome, 'c1').after, count(outcome, 'c1').keptDead], [4, 0]);
  assert.equal(onnxChannelWalks(parseModel(bytes), backend.layers)[0]!.stops.length, 1);
  assert.match(onnxChannelWalks(parseModel(bytes), backend.layers)[0]!.stops[0]!, /Reshape 'reshape' is not known to flatten each sample/);
});

test('built graph: a neuron whose tensor is also a graph output stays, and the report says why', async () => {
  const { bytes, x } = builtNet(true);
  const backend = onnxBackend(parseModel(bytes, 'built'));
  const wm = backend.weightValues('Wm').slice();
  wm.fill(0, 9, 12);
  const { outcome, written } = await shrinkAndCompare(backend, new Map([['Wm', wm]]), x, [64, 2, 6, 6]);
  const fc = count(outcome, 'fc');
  assert.equal([fc.before, fc.after, fc.keptDead], [5, 5, 1]);
  assert.match(fc.reason ?? '', /'a' is a model output/);
  assert.equal(dimsOf(written, 'Wm'), [5, 3]);
});

test('built graph: ReduceMean over H, W (keepdims 0) between a conv and a Gemm passes each channel; over C it stops', async () => {
  for (const axes of [[2, 3], [1]]) {
    const draw = gaussian(seededRandom(8));
    const v = (n: number) => fill(n, draw);
    const bytes = new GraphBuilder('reduce')
      .input('x', ['N', 1, 5, 5])
      .initializer('K', [3, 1, 3, 3], v(27)).node('Conv', ['x', 'K'], ['h'], {}, 'conv').node('Relu', ['h'], ['r'], {}, 'relu')
      .node('ReduceMean', ['r'], ['m'], { axes, keepdims: 0 }, 'mean')
      .initializer('W', [axes.length === 2 ? 3 : 9, 4], v(axes.length === 2 ? 12 : 36)).node('Gemm', ['m', 'W'], ['y'], {}, 'fc')
      .output('y', ['N', 4])
      .toBytes();
    const backend = onnxBackend(parseModel(bytes, 'reduce'), 'dense');
    if (axes.length === 1) {
      assert.match(onnxChannelWalks(parseModel(bytes), backend.layers)[0]!.stops.join(), /ReduceMean 'mean' does not reduce/);
      continue;
    }
    const w = backend.weightValues('W').fill(0, 4, 8); // channel 1
    const { outcome, written } = await shrinkAndCompare(backend, new Map([['W', w]]), v(20 * 25), [20, 1, 5, 5]);
    assert.equal(outcome.layers.map((l) => l.after), [2, 4]);
    assert.equal(dimsOf(written, 'K'), [2, 1, 3, 3]);
    assert.equal(dimsOf(written, 'W'), [2, 4]);
  }
});

test('built graph: a Concat reading the channels keeps them', async () => {
  const draw = gaussian(seededRandom(5));
  const v = (n: number) => fill(n, draw);
  const bytes = new GraphBuilder('concat')
    .input('x', ['N', 4])
    .initializer('W1', [4, 6], v(24)).node('Gemm', ['x', 'W1'], ['h'], {}, 'g1').node('Relu', ['h'], ['a'], {}, 'r')
    .node('Concat', ['a', 'x'], ['c'], { axis: 1 }, 'cat')
    .initializer('W2', [10, 3], v(30)).node('Gemm', ['c', 'W2'], ['y'], {}, 'g2')
    .initializer('W3', [6, 2], v(12)).node('Gemm', ['a', 'W3'], ['z'], {}, 'g3')
    .output('y', ['N', 3]).output('z', ['N', 2])
    .toBytes();
  const backend = onnxBackend(parseModel(bytes, 'concat'));
  const w3 = backend.weightValues('W3').fill(0, 0, 4); // rows 0 and 1 of g3
  const { outcome } = await shrinkAndCompare(backend, new Map([['W3', w3]]), v(40 * 4), [40, 4]);
  const g1 = count(outcome, 'g1');
  assert.equal([g1.after, g1.keptDead], [6, 2]);
  assert.match(g1.reason ?? '', /Concat 'cat'/);
});

test('residual helper net: a conv whose channels go through Mul, Add, Clip(0, 6), GlobalAveragePool and Flatten into a Gemm', async () => {
  const { bytes } = residualNet(seededRandom(3));
  const backend = onnxBackend(parseModel(bytes, 'residual'));
  const wf = backend.weightValues('Wf').slice(); // [3, 8]: channel 1 of c3 is row 1
  wf.fill(0, 8, 16);
  const x = fill(32 * 72, gaussian(seededRandom(4)));
  const { outcome, written } = await shrinkAndCompare(backend, new Map([['Wf', wf]]), x, [32, 2, 6, 6]);
  assert.is(count(outcome, 'c3').after, 2);
  assert.equal(dimsOf(written, 'K3'), [2, 4, 3, 3]);
  assert.equal(dimsOf(written, 'k3'), [2, 1, 1]);
  assert.equal(dimsOf(written, 'd3'), [2, 1, 1]);
  assert.equal(dimsOf(written, 'Wf'), [2, 8]);
});

test('hostile: every neuron of a layer dead keeps one (documented), and the model still loads and computes the masked outputs', async () => {
  const backend = example('mnist-mlp.onnx');
  const values = new Map([['fc2.weight', new Float32Array(300 * 100)]]);
  const { outcome, written } = await shrinkAndCompare(backend, values, digits.data as Float32Array, [DIGITS, 784]);
  const fc1 = count(outcome, 'fc1');
  assert.equal([fc1.before, fc1.after, fc1.keptDead], [300, 1, 1]);
  assert.match(fc1.reason ?? '', /every neuron is dead/);
  assert.equal(dimsOf(written, 'fc1.weight'), [784, 1]);
  assert.equal(dimsOf(written, 'fc2.weight'), [1, 100]);
});

test('channel walks: the readers of each layer with the channel each row reads (what a structured program groups)', () => {
  const model = parseModel(readFileSync(join(EXAMPLES, 'models', 'mnist-conv.onnx')), 'conv');
  const backend = onnxBackend(model);
  const [conv1, conv2, fc1] = backend.layers;
  const walks = onnxChannelWalks(model, backend.layers);
  assert.equal(walks[0]!.readers.map((r) => r.layer), [conv2]);
  assert.equal(Array.from(walks[0]!.readers[0]!.rowChannel), Array.from(inputChannelOfRows(conv2!)));
  assert.equal(walks[1]!.path.map((p) => p.op.op), ['Relu', 'MaxPool', 'Flatten']);
  assert.equal(Array.from(walks[1]!.readers[0]!.rowChannel), Array.from(rowsPerNeuron(fc1!, 25)));
  assert.equal(walks[3]!.stops, ["'logits' is a model output"]);
  assert.ok(conv1);
});

test('nothing masked: the shrunk model is the written one, byte for byte', () => {
  const backend = example('mnist-conv.onnx');
  const outcome = backend.shrink!(new Map());
  assert.equal(outcome.layers.map((l) => l.after), [8, 16, 64, 10]);
  assert.ok(Buffer.from(outcome.model).equals(Buffer.from(backend.write(new Map()))));
});

test.run();

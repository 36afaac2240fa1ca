// Layer discovery and the stored <-> program weight mapping, checked against onnxruntime: for every
// discovered layer, the runtime's own output Z must equal X W + b with X from our signals and W, b
// from our reading of the stored tensors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { InputError } from '../src/errors.ts';
import { findLayers, requireLayers, type PrunableLayer } from '../src/onnx/layers.ts';
import { initializerValues, parseModel, type OnnxModel } from '../src/onnx/model.ts';
import { collectSignals, type LayerSignals } from '../src/onnx/signals.ts';
import { fromProgram, toProgram } from '../src/graph/weights.ts';
import { mulberry32 } from '../src/onnx/sampling.ts';
import { onnx } from '../src/onnx/proto.ts';

const random = mulberry32(7);
const values = (n: number): number[] => Array.from({ length: n }, () => random() * 2 - 1);

function feeds(shape: number[]) {
  const count = shape.reduce((a, b) => a * b, 1);
  return new Map([['x', { data: Float32Array.from(values(count)), shape }]]);
}

/** max |Z - (X W + b)| over all columns and groups of one layer. */
function mismatch(model: OnnxModel, s: LayerSignals): number {
  const layer = s.layer;
  const stored = initializerValues(model, layer.weight);
  const bias = layer.bias ? initializerValues(model, layer.bias) : null;
  const { inputSize: n, outputSize: m } = layer;
  let worst = 0;
  for (let g = 0; g < layer.groups; g++) {
    const p = toProgram(layer, g, stored, bias);
    for (let c = 0; c < s.columns; c++) {
      for (let j = 0; j < m; j++) {
        let sum = p.bias ? p.bias[j]! : 0;
        for (let i = 0; i < n; i++) sum += s.inputs[c * s.inputWidth + g * n + i]! * p.weights[i * m + j]!;
        worst = Math.max(worst, Math.abs(sum - s.outputs[c * s.outputWidth + g * m + j]!));
      }
    }
  }
  return worst;
}

async function signalsOf(model: OnnxModel, layers: PrunableLayer[], shape: number[], maxColumns = 10_000) {
  return collectSignals(model.bytes, 'test', layers, feeds(shape), shape[0]!, { batchSize: 3, maxColumns, seed: 1 });
}

test('Gemm in all transA/transB/alpha/beta variants: discovered, and X W + b matches the runtime', async () => {
  for (const transA of [0, 1]) {
    for (const transB of [0, 1]) {
      for (const [alpha, beta] of [[1, 1], [0.5, 2.5], [-1.5, 0]]) {
        const b = new GraphBuilder().input('x', transA ? [5, 'batch'] : ['batch', 5]);
        b.initializer('B', transB ? [4, 5] : [5, 4], values(20)).initializer('C', [1, 4], values(4));
        b.node('Gemm', ['x', 'B', 'C'], ['z'], { transA, transB, alpha: { f: alpha! }, beta: { f: beta! } }, 'g');
        b.node('Relu', ['z'], ['y']).output('y');
        const model = parseModel(b.toBytes(), 'gemm');
        const { layers, skipped } = findLayers(model);
        assert.is(layers.length, 1);
        assert.equal(skipped, []);
        const layer = layers[0]!;
        assert.is(layer.activation, 'relu');
        assert.is(layer.bias, beta === 0 ? null : 'C');
        assert.equal([layer.inputSize, layer.outputSize], [5, 4]);
        if (transA) continue; // the runtime batch is on axis 1: covered separately below
        const [s] = await signalsOf(model, layers, [7, 5]);
        assert.is(s!.columns, 7);
        assert.ok(mismatch(model, s!) < 1e-5, `transB=${transB} alpha=${alpha} beta=${beta}`);
      }
    }
  }
});

test('Gemm with transA reads samples from the second axis of its input', async () => {
  const b = new GraphBuilder().input('x', ['batch', 5]).initializer('B', [5, 3], values(15)).initializer('C', [3], values(3));
  b.node('Transpose', ['x'], ['xt'], { perm: [1, 0] }).node('Gemm', ['xt', 'B', 'C'], ['y'], { transA: 1, alpha: { f: 2 } }, 'g').output('y');
  const model = parseModel(b.toBytes(), 'gemmT');
  const { layers } = findLayers(model);
  assert.is(layers[0]!.activation, 'linear');
  const [s] = await signalsOf(model, layers, [7, 5]);
  assert.is(s!.columns, 7);
  assert.ok(mismatch(model, s!) < 1e-5);
});

test('a layer whose tensors are not batched on the first axis is refused clearly', async () => {
  const b = new GraphBuilder().input('x', ['batch', 5]).initializer('B', [3, 4], values(12));
  b.node('Reshape', ['x', 'shape'], ['r']).node('MatMul', ['r', 'B'], ['y'], {}, 'mm').output('y');
  b.initializer('shape', [2], [0, 0]); // replaced below by an int64 tensor
  const bytes = b.toBytes();
  const model = parseModel(bytes, 'reshape');
  // Re-encode with an int64 shape [-1, 3] so the batch axis is folded into rows of 3.
  model.graph.initializer!.find((t) => t.name === 'shape')!.rawData = null;
  Object.assign(model.graph.initializer!.find((t) => t.name === 'shape')!, { dataType: 7, int64Data: [-1, 3] });
  const fixed = parseModel(onnx.ModelProto.encode(model.proto).finish(), 'reshape');
  const { layers } = findLayers(fixed);
  try {
    await signalsOf(fixed, layers, [6, 5]);
    assert.unreachable('accepted rows that mix samples');
  } catch (err) {
    assert.instance(err, InputError);
    assert.match((err as Error).message, /mm: for a batch of 3 samples the input has dims \[5, 3\]/);
  }
});

test('MatMul with a constant weight, with and without a following Add bias, rank-3 input', async () => {
  for (const order of ['bias-second', 'bias-first', 'none']) {
    const b = new GraphBuilder().input('x', ['batch', 3, 6]).initializer('W', [6, 4], values(24)).initializer('c', [4], values(4));
    b.node('MatMul', ['x', 'W'], ['mm'], {}, 'mm');
    if (order === 'none') b.node('Relu', ['mm'], ['y']);
    else b.node('Add', order === 'bias-first' ? ['c', 'mm'] : ['mm', 'c'], ['z'], {}, 'add').node('Relu', ['z'], ['y']);
    b.output('y');
    const model = parseModel(b.toBytes(), 'matmul');
    const { layers, skipped } = findLayers(model);
    assert.is(layers.length, 1, order);
    const layer = layers[0]!;
    assert.is(layer.op, 'MatMul');
    assert.is(layer.bias, order === 'none' ? null : 'c');
    assert.is(layer.output, order === 'none' ? 'mm' : 'z');
    assert.equal(layer.nodes, order === 'none' ? ['mm'] : ['mm', 'add']);
    assert.is(layer.activation, 'relu');
    assert.equal(skipped, []);
    const [s] = await signalsOf(model, layers, [4, 3, 6]);
    assert.is(s!.columns, 12); // 4 samples x 3 positions
    assert.ok(mismatch(model, s!) < 1e-5, order);
  }
});

test('ReLU iff the output goes only into Relu: extra consumers or a graph output make it linear', () => {
  const b = new GraphBuilder().input('x', ['batch', 4]);
  b.initializer('W1', [4, 4], values(16)).initializer('W2', [4, 4], values(16)).initializer('W3', [4, 2], values(8));
  b.node('MatMul', ['x', 'W1'], ['h1'], {}, 'l1').node('Relu', ['h1'], ['a1']).node('Sigmoid', ['h1'], ['s1']);
  b.node('MatMul', ['a1', 'W2'], ['h2'], {}, 'l2').node('Relu', ['h2'], ['a2']).node('Relu', ['h2'], ['a2b']);
  b.node('MatMul', ['a2', 'W3'], ['h3'], {}, 'l3').node('Relu', ['h3'], ['y']);
  b.output('y').output('s1').output('h3').output('a2b');
  const { layers } = findLayers(parseModel(b.toBytes(), 'act'));
  assert.equal(layers.map((l) => [l.name, l.activation]), [['l1', 'linear'], ['l2', 'relu'], ['l3', 'linear']]);
});

test('skipped layers carry their reason; no prunable layer is a clear error', () => {
  const b = new GraphBuilder().input('x', ['batch', 4]).input('x2', ['batch', 4, 4]);
  b.initializer('W', [4, 4], values(16)).initializer('S', [1], [0.5]).initializer('Wt', [4, 4, 3, 3], values(144));
  b.node('MatMul', ['x', 'W'], ['h'], {}, 'shared1').node('MatMul', ['h', 'W'], ['h2'], {}, 'shared2');
  b.node('Gemm', ['h2', 'x2', 'S'], ['g'], {}, 'dynamic');
  b.node('ConvTranspose', ['x2', 'Wt'], ['ct'], {}, 'deconv');
  b.output('g').output('ct');
  const model = parseModel(b.toBytes(), 'skips');
  const found = findLayers(model);
  assert.equal(found.layers, []);
  const reasons = Object.fromEntries(found.skipped.map((s) => [s.name, s.reason]));
  assert.match(reasons.shared1!, /shared by 2 nodes/);
  assert.match(reasons.shared2!, /shared by 2 nodes/);
  assert.match(reasons.dynamic!, /not an initializer/);
  assert.match(reasons.deconv!, /ConvTranspose is not a prunable operator/);
  try {
    requireLayers(model);
    assert.unreachable();
  } catch (err) {
    assert.instance(err, InputError);
    assert.match((err as Error).message, /no prunable layer.*shared1: weight 'W' is shared/);
  }
});

test('a Gemm bias that is not one value per output is refused with its dims', () => {
  const b = new GraphBuilder().input('x', ['batch', 4]).initializer('W', [4, 3], values(12)).initializer('C', [1], [1]);
  b.node('Gemm', ['x', 'W', 'C'], ['y'], {}, 'g').output('y');
  const { layers, skipped } = findLayers(parseModel(b.toBytes(), 'scalarC'));
  assert.equal(layers, []);
  assert.match(skipped[0]!.reason, /bias C: 'C' has dims \[1\], not one value per output \(3\)/);
});

test('toProgram and fromProgram are inverse for Gemm (transB, alpha, beta), MatMul and grouped Conv', () => {
  const cases: Array<[string, GraphBuilder]> = [
    ['gemm', new GraphBuilder().input('x', ['b', 5]).initializer('B', [3, 5], values(15)).initializer('C', [3], values(3))
      .node('Gemm', ['x', 'B', 'C'], ['y'], { transB: 1, alpha: 0.25, beta: 4.5 }).output('y')],
    ['conv', new GraphBuilder().input('x', ['b', 4, 6, 6]).initializer('K', [6, 2, 3, 3], values(108)).initializer('B', [6], values(6))
      .node('Conv', ['x', 'K', 'B'], ['y'], { group: 2 }).output('y')],
  ];
  for (const [name, b] of cases) {
    const model = parseModel(b.toBytes(), name);
    const layer = findLayers(model).layers[0]!;
    const w = initializerValues(model, layer.weight);
    const bias = initializerValues(model, layer.bias!);
    const w2 = new Float32Array(w.length);
    const b2 = new Float32Array(bias.length);
    for (let g = 0; g < layer.groups; g++) fromProgram(layer, g, toProgram(layer, g, w, bias), w2, b2);
    for (let i = 0; i < w.length; i++) assert.ok(Math.abs(w2[i]! - w[i]!) < 1e-6, `${name} weight ${i}`);
    for (let i = 0; i < bias.length; i++) assert.ok(Math.abs(b2[i]! - bias[i]!) < 1e-6, `${name} bias ${i}`);
  }
});

test.run();

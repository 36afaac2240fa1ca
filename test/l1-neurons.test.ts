// The L1-norm neuron baseline (src/prune/l1-neurons.ts; Li et al. 2017): the kept neurons are the
// ones with the largest incoming-weight L1 norms, and the zero-masked model it writes computes, in
// onnxruntime, exactly what the smaller network with those neurons cut out computes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ort from 'onnxruntime-node';
import { onnxBackend } from '../src/onnx/backend.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { parseModel } from '../src/onnx/model.ts';
import { inputChannelOfRows } from '../src/graph/weights.ts';
import { l1NeuronValues, largestNeurons, neuronL1Norms, oneRowPerNeuron, rowsPerNeuron } from '../src/prune/l1-neurons.ts';
import type { ModelLayer } from '../src/graph/layer.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';

const draw = gaussian(seededRandom(77));
const values = (n: number, scale: number) => Array.from(fill(n, draw), (v) => scale * v);

/** x(6) -> Gemm(transB) 6x5 + Relu -> MatMul 5x4 + Add + Relu -> MatMul 4x3, from the given tensors. */
function mlp(w1: number[], b1: number[], w2: number[], b2: number[], w3: number[], [n0, n1, n2]: number[]): Uint8Array {
  return new GraphBuilder('mlp')
    .input('x', ['N', n0])
    .initializer('W1', [n1, n0], w1).initializer('b1', [n1], b1)
    .node('Gemm', ['x', 'W1', 'b1'], ['h1'], { transB: 1 }, 'fc1').node('Relu', ['h1'], ['a1'])
    .initializer('W2', [n1, n2], w2).initializer('b2', [n2], b2)
    .node('MatMul', ['a1', 'W2'], ['m2'], {}, 'fc2').node('Add', ['m2', 'b2'], ['h2'], {}, 'fc2.bias').node('Relu', ['h2'], ['a2'])
    .initializer('W3', [n2, 3], w3)
    .node('MatMul', ['a2', 'W3'], ['y'], {}, 'fc3')
    .output('y', ['N', 3])
    .toBytes();
}

async function run(bytes: Uint8Array, x: Float32Array, width: number): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ x: new ort.Tensor('float32', x, [x.length / width, width]) });
  return out[session.outputNames[0]!]!.data as Float32Array;
}

test('norms and the kept set: the L1 norm of each neuron\'s incoming weights, largest kept, ties to the lower index', () => {
  const norms = Float64Array.from([3, 1, 3, 0.5, 2]);
  assert.equal(Array.from(largestNeurons(norms, 3)), [1, 0, 1, 0, 1]);
  assert.equal(Array.from(largestNeurons(norms, 1)), [1, 0, 0, 0, 0]);
  assert.throws(() => largestNeurons(norms, 6), /keep must be an integer in 0..5, got 6/);
  const w1 = values(30, 1);
  const model = parseModel(mlp(w1, values(5, 0.1), values(20, 1), values(4, 0.1), values(12, 1), [6, 5, 4]));
  const fc1 = onnxBackend(model).layers[0]!;
  // Gemm with transB stores W1 as 5 x 6: neuron j's incoming weights are row j
  const want = Array.from({ length: 5 }, (_, j) => w1.slice(j * 6, j * 6 + 6).reduce((s, v) => s + Math.abs(Math.fround(v)), 0));
  const got = neuronL1Norms(fc1, new Float32Array(w1));
  want.forEach((v, j) => assert.ok(Math.abs(got[j]! - v) < 1e-9, `neuron ${j}: ${got[j]} vs ${v}`));
});

test('MLP: the masked model computes exactly what the smaller network computes', async () => {
  const [w1, b1, w2, b2, w3] = [values(30, 0.8), values(5, 0.3), values(20, 0.8), values(4, 0.3), values(12, 0.8)];
  const bytes = mlp(w1, b1, w2, b2, w3, [6, 5, 4]);
  const backend = onnxBackend(parseModel(bytes));
  const [fc1, fc2, fc3] = backend.layers;
  const cuts = [
    { producer: fc1!, keep: 3, consumers: [{ layer: fc2!, rowNeuron: oneRowPerNeuron(fc2!) }] },
    { producer: fc2!, keep: 2, consumers: [{ layer: fc3!, rowNeuron: oneRowPerNeuron(fc3!) }] },
  ];
  const masked = backend.write(l1NeuronValues(backend, cuts));
  // the smaller network, cut by hand from the kept neurons
  const indicesOf = (kept: Uint8Array) => [...kept.keys()].filter((j) => kept[j]);
  const keep1 = indicesOf(largestNeurons(neuronL1Norms(fc1!, new Float32Array(w1)), 3));
  const keep2 = indicesOf(largestNeurons(neuronL1Norms(fc2!, new Float32Array(w2)), 2));
  const small = mlp(
    keep1.flatMap((j) => w1.slice(j * 6, j * 6 + 6)), keep1.map((j) => b1[j]!),
    keep1.flatMap((i) => keep2.map((j) => w2[i * 4 + j]!)), keep2.map((j) => b2[j]!),
    keep2.flatMap((i) => w3.slice(i * 3, i * 3 + 3)), [6, 3, 2],
  );
  const x = fill(50 * 6, draw);
  const [a, b] = [await run(masked, x, 6), await run(small, x, 6)];
  let diff = 0, scale = 0;
  for (let i = 0; i < a.length; i++) { diff = Math.max(diff, Math.abs(a[i]! - b[i]!)); scale = Math.max(scale, Math.abs(b[i]!)); }
  assert.ok(scale > 0 && diff <= 1e-6 * scale, `masked vs cut: ${diff} (largest output ${scale})`);
  // and the trained network is a different function: the cut did something
  const trained = await run(bytes, x, 6);
  assert.ok(trained.some((v, i) => Math.abs(v - a[i]!) > 1e-3 * scale));
});

test('CNN: cut filters, the next convolution\'s channel rows (grouped) and the Gemm rows after Flatten', () => {
  // x[1,8,8] -> Conv 4x(1x3x3) + Relu -> Conv 6x(2x3x3) group 2 stride 2 + Relu (6 x 4 x 4) -> Flatten -> Gemm 96 -> 3
  const k1 = values(36, 0.5), k2 = values(108, 0.5), w3 = values(3 * 96, 0.5);
  const bytes = new GraphBuilder('cnn')
    .input('x', ['N', 1, 8, 8])
    .initializer('K1', [4, 1, 3, 3], k1).initializer('B1', [4], values(4, 0.1))
    .node('Conv', ['x', 'K1', 'B1'], ['c1'], { pads: [1, 1, 1, 1] }, 'conv1').node('Relu', ['c1'], ['r1'])
    .initializer('K2', [6, 2, 3, 3], k2).initializer('B2', [6], values(6, 0.1))
    .node('Conv', ['r1', 'K2', 'B2'], ['c2'], { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] }, 'conv2').node('Relu', ['c2'], ['r2'])
    .node('Flatten', ['r2'], ['f'], { axis: 1 }, 'flatten')
    .initializer('W3', [3, 96], w3).initializer('b3', [3], [0, 0, 0])
    .node('Gemm', ['f', 'W3', 'b3'], ['y'], { transB: 1 }, 'fc')
    .output('y', ['N', 3])
    .toBytes();
  const backend = onnxBackend(parseModel(bytes));
  const [conv1, conv2, fc] = backend.layers;
  const v = l1NeuronValues(backend, [
    { producer: conv1!, keep: 2, consumers: [{ layer: conv2!, rowNeuron: inputChannelOfRows(conv2!) }] },
    { producer: conv2!, keep: 4, consumers: [{ layer: fc!, rowNeuron: rowsPerNeuron(fc!, 16) }] },
  ]);
  // ONNX rows are [C/groups][kh][kw]: 9 rows per channel, group 1 starting at channel 2
  assert.equal(Array.from(inputChannelOfRows(conv2!)), Array.from(rowsPerNeuron(conv2!, 9)));
  assert.equal([0, 8, 9, 17, 18, 35].map((r) => inputChannelOfRows(conv2!)[r]), [0, 0, 1, 1, 2, 3]);
  const kept1 = largestNeurons(neuronL1Norms(conv1!, new Float32Array(k1)), 2);
  const kept2 = largestNeurons(neuronL1Norms(conv2!, new Float32Array(k2)), 4);
  const K1 = v.get('K1')!, K2 = v.get('K2')!, W3 = v.get('W3')!, B1 = v.get('B1')!;
  for (let c = 0; c < 4; c++) {
    // filter c of conv1 (9 taps) and its bias: kept as trained, or zero
    for (let t = 0; t < 9; t++) assert.is(K1[c * 9 + t], kept1[c] ? Math.fround(k1[c * 9 + t]!) : 0);
    if (!kept1[c]) assert.is(B1[c], 0);
  }
  for (let o = 0; o < 6; o++) {
    for (let ci = 0; ci < 2; ci++) {
      const channel = Math.floor(o / 3) * 2 + ci; // group g of conv2 reads channels 2g, 2g + 1
      for (let t = 0; t < 9; t++) {
        const e = (o * 2 + ci) * 9 + t, trained = Math.fround(k2[e]!);
        assert.is(K2[e], kept2[o] && kept1[channel] ? trained : 0, `K2[${o}][${ci}][${t}]`);
      }
    }
  }
  for (let j = 0; j < 3; j++) {
    for (let r = 0; r < 96; r++) assert.is(W3[j * 96 + r], kept2[Math.floor(r / 16)] ? Math.fround(w3[j * 96 + r]!) : 0, `W3[${j}][${r}]`);
  }
  assert.throws(() => l1NeuronValues(backend, [{ producer: conv1!, keep: 2, consumers: [{ layer: fc!, rowNeuron: rowsPerNeuron(fc!, 16) }] }]), /names neuron 4; the producer has 4/);
});

test('TensorFlow.js channels-last rows: [kh][kw][C/groups], channels innermost', () => {
  const conv2d = { name: 'conv', inputSize: 18, groups: 2, layout: 'nhwc', conv: { kernel: [3, 3] } } as unknown as ModelLayer;
  const channels = inputChannelOfRows(conv2d);
  assert.equal(Array.from(channels.subarray(0, 4)), [0, 1, 0, 1]);
  assert.equal(Array.from(channels.subarray(18, 22)), [2, 3, 2, 3]);
});

test.run();

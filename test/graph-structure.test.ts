// What follows a layer, read from real graphs (graph/follow.ts on the ONNX and TensorFlow.js
// mappings): BatchNormalization and Mul/Add constants folded per channel, a residual Add's other
// branch, Relu and Clip(0, 6), invertible and smooth activations, and where the walk must stop.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { findLayers } from '../src/onnx/layers.ts';
import { parseModel } from '../src/onnx/model.ts';
import { findTfjsLayers } from '../src/tfjs/layers.ts';
import { decodeLayersModel } from '../src/tfjs/model.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';
import { tf } from './helpers/tfjs.ts';
import { residualNet } from './helpers/structured-models.ts';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-6): boolean =>
  a.length === b.length && Array.from(a).every((v, i) => Math.abs(v - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)));

test('ONNX: BatchNormalization folded, residual Add, Relu, Clip(0, 6) from Mul/Add constants, LeakyRelu, output', () => {
  const net = residualNet(seededRandom(7));
  const { layers } = findLayers(parseModel(net.bytes, 'residual'));
  const byName = new Map(layers.map((l) => [l.name, l]));
  assert.equal(layers.map((l) => [l.name, l.activation]), [['c1', 'relu'], ['c2', 'relu'], ['c3', 'relu'], ['fc', 'linear'], ['head', 'linear']]);

  const c1 = byName.get('c1')!.structure;
  assert.ok(c1.clip && c1.clip.min === 0 && c1.clip.max === Infinity);
  assert.is(c1.skip, null);
  assert.equal(c1.ops, ['bn1', 'r1']);
  assert.ok(close(c1.affine!.scale, net.bn1.scale) && close(c1.affine!.shift, net.bn1.shift), 'bn1 folded per channel');

  const c2 = byName.get('c2')!.structure;
  assert.is(c2.skip, 'a1');
  assert.equal(c2.ops, ['bn2', 'add', 'r2']);
  assert.ok(close(c2.affine!.scale, net.bn2.scale));
  assert.match(c2.reason, /residual Add 'add'/);

  const c3 = byName.get('c3')!.structure;
  assert.equal(c3.clip, { min: 0, max: 6 });
  assert.ok(close(c3.affine!.scale, net.mul3), 'Mul constant [C,1,1] per channel');
  assert.ok(close(c3.affine!.shift, net.add3), 'Add constant [C,1,1] per channel');

  assert.is(byName.get('fc')!.structure.clip, null);
  assert.match(byName.get('fc')!.structure.reason, /LeakyRelu 'leaky' \(slope 0\.1\) is invertible/);
  assert.match(byName.get('head')!.structure.reason, /model output/);
});

test('ONNX: the walk stops where a tensor has two readers, a constant varies along another axis, or the op is not piecewise linear', () => {
  const r = seededRandom(3);
  const bytes = new GraphBuilder('stops')
    .input('x', ['N', 6])
    .initializer('W1', [6, 4], fill(24, gaussian(r))).node('MatMul', ['x', 'W1'], ['h1'], {}, 'm1')
    .node('Relu', ['h1'], ['a1'], {}, 'relu1').node('Sigmoid', ['h1'], ['s1'], {}, 'sig1')
    .initializer('W2', [4, 4], fill(16, gaussian(r))).node('MatMul', ['a1', 'W2'], ['h2'], {}, 'm2')
    .initializer('k', [2, 4], fill(8, gaussian(r))).node('Mul', ['h2', 'k'], ['h2k'], {}, 'mul2d').node('Relu', ['h2k'], ['a2'])
    .initializer('W3', [4, 3], fill(12, gaussian(r))).node('MatMul', ['a2', 'W3'], ['h3'], {}, 'm3')
    .node('Erf', ['h3'], ['e3'], {}, 'erf')
    .node('Add', ['e3', 's1'], ['y0'], {}, 'join').output('y0')
    .toBytes();
  const { layers } = findLayers(parseModel(bytes, 'stops'));
  const reasons = new Map(layers.map((l) => [l.name, l.structure.reason]));
  assert.equal(layers.map((l) => l.activation), ['linear', 'linear', 'linear']);
  assert.match(reasons.get('m1')!, /'h1' is read by 2 operations/);
  assert.match(reasons.get('m2')!, /Mul 'mul2d' is not one value per channel/);
  assert.match(reasons.get('m3')!, /Erf 'erf' is not piecewise linear/);
});

test('TensorFlow.js: BatchNormalization and Add layers, ReLU(maxValue 6), relu6 and gelu inside a layer', async () => {
  const input = tf.input({ shape: [6, 6, 2] });
  const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }).apply(input) as tf.SymbolicTensor;
  const b1 = tf.layers.batchNormalization({ name: 'bn1' }).apply(c1) as tf.SymbolicTensor;
  const a1 = tf.layers.reLU({ name: 'r1' }).apply(b1) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c2' }).apply(a1) as tf.SymbolicTensor;
  const b2 = tf.layers.batchNormalization({ name: 'bn2' }).apply(c2) as tf.SymbolicTensor;
  const s2 = tf.layers.add({ name: 'add' }).apply([b2, a1]) as tf.SymbolicTensor;
  const a2 = tf.layers.reLU({ maxValue: 6, name: 'r6' }).apply(s2) as tf.SymbolicTensor;
  const f = tf.layers.flatten({ name: 'flat' }).apply(a2) as tf.SymbolicTensor;
  const d1 = tf.layers.dense({ units: 8, activation: 'relu6', name: 'd1' }).apply(f) as tf.SymbolicTensor;
  const d2 = tf.layers.dense({ units: 5, activation: 'gelu', name: 'd2' }).apply(d1) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: d2 });
  const gamma = Float32Array.from([0.5, -1.5, 2, 1]);
  model.getLayer('bn1').setWeights([tf.tensor(gamma), tf.tensor([0.1, 0.2, -0.3, 0]), tf.tensor([1, 2, 3, 4]), tf.tensor([4, 1, 0.25, 9])]);
  const artifacts = await new Promise<tf.io.ModelArtifacts>((resolve) => {
    void model.save({ save: async (a) => { resolve(a); return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; } });
  });
  const file = decodeLayersModel(
    { modelTopology: artifacts.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: artifacts.weightSpecs }] },
    [new Uint8Array(artifacts.weightData as ArrayBuffer)], 'tfjs-structure',
  );
  const { layers } = findTfjsLayers(file);
  const byName = new Map(layers.map((l) => [l.name, l.structure]));
  assert.equal(byName.get('c1')!.ops, ['bn1', 'r1']);
  const eps = 1e-3; // Keras' default
  assert.ok(close(byName.get('c1')!.affine!.scale, [...gamma].map((g, j) => g / Math.sqrt([4, 1, 0.25, 9][j]! + eps)), 1e-5));
  assert.equal(byName.get('c2')!.clip, { min: 0, max: 6 });
  assert.is(byName.get('c2')!.skip, 'r1');
  assert.equal(byName.get('d1')!.clip, { min: 0, max: 6 });
  assert.is(byName.get('d2')!.clip, null);
  assert.match(byName.get('d2')!.reason, /"gelu" is not piecewise linear/);
});

test('ONNX skipped: every node with weights that no layer program covers, with its reason (embeddings, LayerNorm, attention products, constants)', () => {
  const r = gaussian(seededRandom(5));
  const bytes = new GraphBuilder('encoder')
    .input('ids', ['N', 3])
    .initializer('table', [10, 4], fill(40, r)).node('Gather', ['table', 'ids'], ['e'], {}, 'embed')
    .initializer('pos', [1, 3, 4], fill(12, r)).node('Add', ['e', 'pos'], ['p'], {}, 'position')
    .initializer('ln_s', [4], fill(4, r)).initializer('ln_b', [4], fill(4, r))
    .node('LayerNormalization', ['p', 'ln_s', 'ln_b'], ['n'], { axis: -1 }, 'ln')
    .initializer('Wq', [4, 4], fill(16, r)).node('MatMul', ['n', 'Wq'], ['q'], {}, 'q_proj')
    .node('Transpose', ['n'], ['nt'], { perm: [0, 2, 1] }, 'kt')
    .node('MatMul', ['q', 'nt'], ['scores'], {}, 'qk')
    .initializer('s1', [4], fill(4, r)).initializer('b1', [4], fill(4, r)).initializer('m1', [4], fill(4, r)).initializer('v1', [4], fill(4, () => 1))
    .node('BatchNormalization', ['scores', 's1', 'b1', 'm1', 'v1'], ['bn'], {}, 'lonely_bn')
    .output('bn')
    .toBytes({ opset: 17 });
  const { layers, skipped } = findLayers(parseModel(bytes, 'encoder'));
  assert.equal(layers.map((l) => l.name), ['q_proj']);
  const reasons = Object.fromEntries(skipped.map((s) => [s.name, s.reason]));
  assert.equal(Object.keys(reasons), ['embed', 'position', 'ln', 'qk', 'lonely_bn']);
  assert.match(reasons.embed!, /embedding table \[10, 4\]/);
  assert.match(reasons.position!, /Add of a constant \[1, 3, 4\]/);
  assert.match(reasons.ln!, /normalization's scale and shift/);
  assert.match(reasons.qk!, /computed at run time \(as in an attention product/);
  assert.match(reasons.lonely_bn!, /not folded into a layer program/);
});

test.run();

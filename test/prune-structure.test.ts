// Pruning through the structure the graph gives (BatchNormalization, residual Add, Clip(0, 6),
// LeakyRelu), checked in onnxruntime: with only one layer pruned, the tensor after its activation,
// as the runtime computes it, stays within the layer's epsilon of the trained one, inactive outputs
// stay inactive and saturated ones saturated; both schemes write a model the runtime runs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ort from 'onnxruntime-node';
import { initializerValues, parseModel } from '../src/onnx/model.ts';
import { patchInitializers, withExtraOutputs } from '../src/onnx/patch.ts';
import { pruneModel } from '../src/prune/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pruneLayersModel, writeLayersModel } from '../src/tfjs/prune.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';
import { residualNet } from './helpers/structured-models.ts';
import { loadLayersModelFile, predictFlat, saveLayersModelFile, seeded, tf } from './helpers/tfjs.ts';

const dir = mkdtempSync(join(tmpdir(), 'nettrim-structure-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const net = residualNet(seededRandom(7));
const trained = parseModel(net.bytes, 'residual');
// 100 samples x 36 positions: every position fits in the program (maxColumns 4096)
const SAMPLES = 100;
const x = { data: fill(SAMPLES * 72, gaussian(seededRandom(8))), shape: [SAMPLES, 2, 6, 6] };
/** The tensor after each layer's activation (or where its program ends). */
const AFTER: Record<string, string> = { c1: 'a1', c2: 'a2', c3: 'a3', fc: 'hf', head: 'y' };

async function run(bytes: Uint8Array, names: string[]): Promise<Map<string, Float32Array>> {
  const session = await ort.InferenceSession.create(withExtraOutputs(bytes, names.filter((n) => n !== 'y')));
  const out = await session.run({ x: new ort.Tensor('float32', x.data, x.shape) });
  return new Map(names.map((n) => [n, out[n]!.data as Float32Array]));
}

test('parallel: each layer alone pruned keeps its activation output within epsilon in onnxruntime; ReLU and Clip regions hold', async () => {
  const epsilon = 0.1;
  // the program's bounds, which the hard-bounded refit keeps; the soft one (the default) lets an
  // inactive output rise when that lowers the error after the activation (c2: 0.16 of max 7.2)
  const { model, report } = await pruneModel(net.bytes, x, { epsilon, refitBounds: 'hard' });
  assert.equal(report.layers.map((l) => [l.name, l.activation]), [
    ['c1', 'relu'], ['c2', 'relu'], ['c3', 'clip(0, 6)'], ['fc', 'linear'], ['head', 'linear'],
  ]);
  assert.match(report.layers[1]!.constraint, /relu \(Relu 'r2'\) after BatchNormalization 'bn2' \(folded\) and a residual Add 'add' \(skip 'a1'\)/);
  const pruned = parseModel(model, 'pruned');
  const base = await run(net.bytes, Object.values(AFTER));
  for (const layer of report.layers) {
    assert.ok(layer.nnzAfter < layer.nnzBefore, `${layer.name} kept every weight`);
    const names = [`${layer.name === 'head' ? 'Wh' : layer.name === 'fc' ? 'Wf' : `K${layer.name[1]}`}`];
    const bias = { c1: 'B1', c2: 'B2', c3: 'B3', head: 'bh' }[layer.name];
    if (bias) names.push(bias);
    const only = patchInitializers(trained, new Map(names.map((n) => [n, initializerValues(pruned, n)])));
    const tensor = AFTER[layer.name]!;
    const before = base.get(tensor)!;
    const after = (await run(only, [tensor])).get(tensor)!;
    let diff = 0, norm = 0, lifted = 0, dropped = 0, top = 0;
    for (let i = 0; i < before.length; i++) {
      diff += (after[i]! - before[i]!) ** 2;
      norm += before[i]! ** 2;
      top = Math.max(top, Math.abs(before[i]!));
      if (layer.activation !== 'linear' && before[i] === 0) lifted = Math.max(lifted, after[i]!);
      if (layer.activation === 'clip(0, 6)' && before[i] === 6) dropped = Math.max(dropped, 6 - after[i]!);
    }
    const relative = Math.sqrt(diff / norm);
    // the ball bounds the error on the active outputs; the bounded ones may move by the solver's tolerance
    // (inactiveTolerance of max |Y| of the program, whose targets before the skip can be larger than these outputs)
    assert.ok(relative <= epsilon * 1.05, `${layer.name}: error after the activation ${relative} > epsilon ${epsilon}`);
    assert.ok(lifted <= 0.005 * top, `${layer.name}: an inactive output rose to ${lifted} (max ${top})`);
    assert.ok(dropped <= 0.005 * top, `${layer.name}: a saturated output fell by ${dropped}`);
  }
  // the head kept its biases: they are not counted in the sparsity, so the program does not pay for them
  assert.ok(Array.from(initializerValues(pruned, 'bh')).every((v) => v !== 0));
});

test('cascade: the pruned residual net runs in onnxruntime, every program solved, outputs near the trained ones', async () => {
  // Net-Trim's own cascade (the refit lowers each layer's error, so the gamma rule leaves the next layers less room)
  const { model, report } = await pruneModel(net.bytes, x, { epsilon: 0.05, scheme: 'cascade', refit: false });
  assert.ok(report.layers.every((l) => l.status === 'solved' || l.status === 'solved-inaccurate'), JSON.stringify(report.layers.map((l) => l.status)));
  const y0 = (await run(net.bytes, ['y'])).get('y')!;
  const y1 = (await run(model, ['y'])).get('y')!;
  const moved = relativeChange(y0, y1);
  assert.ok(moved < 0.2, `outputs moved by ${moved}`);
  assert.ok(report.total.removedFraction > 0.1, `removed only ${report.total.removedFraction}`);
});

test('TensorFlow.js: BatchNormalization, Add and ReLU(maxValue 6) layers kept by the programs; tf.loadLayersModel runs the pruned model', async () => {
  const random = gaussian(seededRandom(11));
  const input = tf.input({ shape: [6, 6, 2], name: 'x' });
  const c1 = tf.layers.conv2d({ ...seeded(101), filters: 4, kernelSize: 3, padding: 'same', name: 'c1' }).apply(input) as tf.SymbolicTensor;
  const a1 = tf.layers.reLU({ name: 'r1' }).apply(tf.layers.batchNormalization({ name: 'bn1' }).apply(c1)) as tf.SymbolicTensor;
  const c2 = tf.layers.conv2d({ ...seeded(102), filters: 4, kernelSize: 3, padding: 'same', name: 'c2' }).apply(a1) as tf.SymbolicTensor;
  const s2 = tf.layers.add({ name: 'add' }).apply([tf.layers.batchNormalization({ name: 'bn2' }).apply(c2) as tf.SymbolicTensor, a1]);
  const a2 = tf.layers.reLU({ maxValue: 6, name: 'r6' }).apply(s2) as tf.SymbolicTensor;
  const f = tf.layers.flatten({ name: 'flat' }).apply(a2) as tf.SymbolicTensor;
  const y = tf.layers.dense({ ...seeded(103), units: 5, name: 'head' }).apply(f) as tf.SymbolicTensor;
  const built = tf.model({ inputs: input, outputs: y });
  for (const bn of ['bn1', 'bn2']) {
    const layer = built.getLayer(bn);
    layer.setWeights(layer.getWeights().map((w, i) => tf.tensor(fill(4, () => (i === 3 ? 0.5 + Math.abs(random()) : i === 0 ? 1 + 0.5 * random() : 0.3 * random())), w.shape)));
  }
  const source = await saveLayersModelFile(built, join(dir, 'structured'));
  built.dispose();
  const data = fill(SAMPLES * 72, random);
  const { model, report } = await pruneLayersModel(source, { data, shape: [SAMPLES, 6, 6, 2] }, { epsilon: 0.05 });
  assert.equal(report.layers.map((l) => [l.name, l.activation, l.nodes]), [
    ['c1', 'relu', ['c1', 'bn1', 'r1']], ['c2', 'clip(0, 6)', ['c2', 'bn2', 'add', 'r6']], ['head', 'linear', ['head']],
  ]);
  assert.equal(report.skipped, []);
  for (const l of report.layers) assert.ok(l.nnzAfter < l.nnzBefore && l.relativeError <= l.epsilon * 1.001 + 1e-6, JSON.stringify(l));
  await writeLayersModel(join(dir, 'structured-pruned'), model, [source]);
  const before = predictFlat(await loadLayersModelFile(source), data, [SAMPLES, 6, 6, 2]);
  const after = predictFlat(await loadLayersModelFile(join(dir, 'structured-pruned', 'model.json')), data, [SAMPLES, 6, 6, 2]);
  const moved = relativeChange(before, after);
  assert.ok(moved < 0.15, `outputs moved by ${moved}`);
});

test('TensorFlow.js DepthwiseConv2D (MobileNet block: depthwise, BN, ReLU6, pointwise, BN, relu6) is pruned as one program per channel', async () => {
  const random = gaussian(seededRandom(12));
  const input = tf.input({ shape: [6, 6, 3], name: 'x' });
  const dw = tf.layers.depthwiseConv2d({ depthwiseInitializer: seeded(104).kernelInitializer, kernelSize: 3, padding: 'same', depthMultiplier: 2, name: 'dw' }).apply(input) as tf.SymbolicTensor;
  const a1 = tf.layers.reLU({ maxValue: 6, name: 'r6a' }).apply(tf.layers.batchNormalization({ name: 'bn_dw' }).apply(dw)) as tf.SymbolicTensor;
  const pw = tf.layers.conv2d({ ...seeded(105), filters: 4, kernelSize: 1, name: 'pw' }).apply(a1) as tf.SymbolicTensor;
  const a2 = tf.layers.activation({ activation: 'relu6', name: 'r6b' }).apply(tf.layers.batchNormalization({ name: 'bn_pw' }).apply(pw)) as tf.SymbolicTensor;
  const y = tf.layers.dense({ ...seeded(106), units: 3, name: 'head' }).apply(tf.layers.flatten().apply(a2)) as tf.SymbolicTensor;
  const built = tf.model({ inputs: input, outputs: y });
  const source = await saveLayersModelFile(built, join(dir, 'mobile'));
  built.dispose();
  const data = fill(SAMPLES * 108, () => 2 * random());
  const { model, report } = await pruneLayersModel(source, { data, shape: [SAMPLES, 6, 6, 3] }, { epsilon: 0.05 });
  const dwReport = report.layers.find((l) => l.name === 'dw')!;
  assert.equal([dwReport.op, dwReport.groups, dwReport.inputs, dwReport.outputs, dwReport.activation], ['DepthwiseConv2D', 3, 9, 2, 'clip(0, 6)']);
  assert.equal(report.layers.map((l) => l.nodes), [['dw', 'bn_dw', 'r6a'], ['pw', 'bn_pw', 'r6b'], ['head']]);
  assert.ok(report.layers.every((l) => l.relativeError <= l.epsilon * 1.001 + 1e-6), JSON.stringify(report.layers.map((l) => [l.relativeError, l.epsilon])));
  await writeLayersModel(join(dir, 'mobile-pruned'), model, [source]);
  const before = predictFlat(await loadLayersModelFile(source), data, [SAMPLES, 6, 6, 3]);
  const after = predictFlat(await loadLayersModelFile(join(dir, 'mobile-pruned', 'model.json')), data, [SAMPLES, 6, 6, 3]);
  const moved = relativeChange(before, after);
  // three layers at epsilon 0.05 each: a wrong kernel layout would move the outputs by far more
  assert.ok(moved < 0.15, `outputs moved by ${moved}`);
});

/** ||after - before||_F / ||before||_F. */
function relativeChange(before: Float32Array, after: Float32Array): number {
  let diff = 0, norm = 0;
  for (let i = 0; i < before.length; i++) {
    diff += (after[i]! - before[i]!) ** 2;
    norm += before[i]! ** 2;
  }
  return Math.sqrt(diff / norm);
}

test.run();

// Network surgery on TensorFlow.js Layers models (src/graph/shrink.ts, src/tfjs/shrink.ts): zero-mask
// some neurons of the shipped -tfjs examples, cut them out, write model.json and shards, load both
// the masked and the shrunk model with tf.loadLayersModel and check that they compute the same
// logits (1e-5 relative) on the held-out digits, with smaller kernels and configs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpyFile } from '../src/io/npy.ts';
import type { ModelBackend, WeightValues } from '../src/prune/backend.ts';
import { inputChannelOfRows } from '../src/graph/weights.ts';
import { l1NeuronValues, oneRowPerNeuron } from '../src/prune/l1-neurons.ts';
import { tfjsBackend } from '../src/tfjs/backend.ts';
import { readLayersModel, writeLayersModel, type LayersModelArtifacts } from '../src/tfjs/prune.ts';
import type { ShrinkOutcome } from '../src/graph/shrink.ts';
import { findTfjsLayers } from '../src/tfjs/layers.ts';
import { tfjsChannelWalks } from '../src/tfjs/shrink.ts';
import { loadLayersModelFile, predictFlat, saveLayersModelFile, tf } from './helpers/tfjs.ts';

const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples');
const digits = await readNpyFile(join(EXAMPLES, 'data', 'mnist-test-x.npy'));
const DIGITS = digits.shape[0]!;
/** The convolution twins run on the first 1,000 digits: TensorFlow.js's CPU convolutions are slow here. */
const IMAGES = 1000;
const TOLERANCE = 1e-5;
const dir = mkdtempSync(join(tmpdir(), 'nettrim-shrink-tfjs-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

async function example(name: string): Promise<ModelBackend<LayersModelArtifacts>> {
  return tfjsBackend(await readLayersModel(join(EXAMPLES, 'models', name)));
}

let written = 0;
/** Writes the artifacts into a fresh folder, loads them with tf.loadLayersModel and predicts the digits. */
async function predict(artifacts: LayersModelArtifacts, shape: number[]): Promise<{ logits: Float32Array; bytes: number; json: Record<string, unknown> }> {
  const folder = join(dir, `model${++written}`);
  const paths = await writeLayersModel(folder, artifacts);
  const model = await loadLayersModelFile(join(folder, 'model.json'));
  const logits = predictFlat(model, (digits.data as Float32Array).subarray(0, shape.reduce((a, b) => a * b, 1)), shape);
  model.dispose();
  return { logits, bytes: paths.reduce((n, p) => n + statSync(p).size, 0), json: JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8')) as Record<string, unknown> };
}

function relativeDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0, scale = 0;
  b.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(a[i]! - v));
    scale = Math.max(scale, Math.abs(v));
  });
  assert.ok(scale > 0);
  return diff / scale;
}

async function shrinkAndCompare(backend: ModelBackend<LayersModelArtifacts>, values: WeightValues, shape: number[]) {
  const outcome = backend.shrink!(values) as ShrinkOutcome<LayersModelArtifacts>;
  const masked = await predict(backend.write(values), shape);
  const shrunk = await predict(outcome.model, shape);
  const diff = relativeDiff(shrunk.logits, masked.logits);
  assert.ok(diff <= TOLERANCE, `shrunk vs masked logits: relative difference ${diff}`);
  const manifest = (shrunk.json.weightsManifest as Array<{ weights: Array<{ name: string; shape: number[] }> }>).flatMap((g) => g.weights);
  const shapeOf = (name: string) => manifest.find((w) => w.name === name)!.shape;
  return { outcome, masked, shrunk, shapeOf };
}

function layerConfig(json: Record<string, unknown>, name: string): Record<string, unknown> {
  let t = json.modelTopology as Record<string, unknown>;
  if (t.model_config) t = t.model_config as Record<string, unknown>;
  const list = (Array.isArray(t.config) ? t.config : (t.config as { layers: unknown[] }).layers) as Array<{ config: Record<string, unknown> }>;
  return list.find((l) => l.config.name === name)!.config;
}

test('MLP twin: Dense units and kernels shrink, tf.loadLayersModel loads it, same logits on 2,000 digits', async () => {
  const backend = await example('mnist-mlp-tfjs');
  const [fc1, fc2, fc3] = backend.layers;
  const values = l1NeuronValues(backend, [
    { producer: fc1!, keep: 120, consumers: [{ layer: fc2!, rowNeuron: oneRowPerNeuron(fc2!) }] },
    { producer: fc2!, keep: 40, consumers: [{ layer: fc3!, rowNeuron: oneRowPerNeuron(fc3!) }] },
  ]);
  const { outcome, masked, shrunk, shapeOf } = await shrinkAndCompare(backend, values, [DIGITS, 784]);
  assert.equal(outcome.layers.map((l) => l.after), [120, 40, 10]);
  assert.equal(shapeOf('fc1/kernel'), [784, 120]);
  assert.equal(shapeOf('fc2/kernel'), [120, 40]);
  assert.equal(shapeOf('fc3/kernel'), [40, 10]);
  assert.is(layerConfig(shrunk.json, 'fc1').units, 120);
  assert.is(outcome.paramsAfter, 784 * 120 + 120 + 120 * 40 + 40 + 40 * 10 + 10);
  assert.ok(shrunk.bytes < masked.bytes / 2, `${shrunk.bytes} bytes vs ${masked.bytes}`);
});

test('CNN twin: Conv2D filters, the next conv\'s input channels and the Dense rows after a channels-last Flatten go', async () => {
  const backend = await example('mnist-conv-tfjs');
  const [conv1, conv2, fc1, fc2] = backend.layers;
  // channels-last Flatten of [5, 5, 16]: row i reads channel i % 16
  const flat = Int32Array.from({ length: 400 }, (_, i) => i % 16);
  const values = l1NeuronValues(backend, [
    { producer: conv1!, keep: 5, consumers: [{ layer: conv2!, rowNeuron: inputChannelOfRows(conv2!) }] },
    { producer: conv2!, keep: 9, consumers: [{ layer: fc1!, rowNeuron: flat }] },
    { producer: fc1!, keep: 30, consumers: [{ layer: fc2!, rowNeuron: oneRowPerNeuron(fc2!) }] },
  ]);
  const { outcome, shrunk, shapeOf } = await shrinkAndCompare(backend, values, [IMAGES, 28, 28, 1]);
  assert.equal(outcome.layers.map((l) => l.after), [5, 9, 30, 10]);
  assert.equal(shapeOf('conv1/kernel'), [5, 5, 1, 5]);
  assert.equal(shapeOf('conv2/kernel'), [3, 3, 5, 9]);
  assert.equal(shapeOf('fc1/kernel'), [225, 30]);
  assert.is(layerConfig(shrunk.json, 'conv2').filters, 9);
});

test('ResNet twin: the residual Add keeps the stem\'s channels (reason), a block\'s inner channels and BatchNormalization go', async () => {
  const backend = await example('mnist-resnet-tfjs');
  const byName = new Map(backend.layers.map((l) => [l.name, l]));
  const stem = byName.get('stem_conv')!, b11 = byName.get('block1_1_conv')!, b12 = byName.get('block1_2_conv')!;
  const values = l1NeuronValues(backend, [
    { producer: stem, keep: 5, consumers: [{ layer: b11, rowNeuron: inputChannelOfRows(b11) }] },
    { producer: b11, keep: 3, consumers: [{ layer: b12, rowNeuron: inputChannelOfRows(b12) }] },
  ]);
  const { outcome, shapeOf } = await shrinkAndCompare(backend, values, [IMAGES, 28, 28, 1]);
  const s = outcome.layers.find((l) => l.name === 'stem_conv')!;
  assert.equal([s.after, s.keptDead], [8, 3]);
  assert.match(s.reason ?? '', /residual Add 'block1_add'/);
  assert.equal(shapeOf('block1_1_conv/kernel'), [3, 3, 8, 3]);
  for (const k of ['gamma', 'beta', 'moving_mean', 'moving_variance']) assert.equal(shapeOf(`block1_1_bn/${k}`), [3]);
  assert.equal(shapeOf('block1_2_conv/kernel'), [3, 3, 3, 8]);
});

test('MobileNet twin: a pointwise conv that stops reading channels removes the DepthwiseConv2D channels and the stem filters', async () => {
  const backend = await example('mnist-mobilenet-tfjs');
  const pw = backend.layers.find((l) => l.name === 'block1_pw_conv')!;
  const w = backend.weightValues(pw.weight); // [1, 1, 16, 24]
  for (const c of [0, 3, 7, 8]) for (let o = 0; o < 24; o++) w[c * 24 + o] = 0;
  const { outcome, shapeOf } = await shrinkAndCompare(backend, new Map([[pw.weight, w]]), [IMAGES, 28, 28, 1]);
  assert.equal(['stem_conv', 'block1_dw', 'block1_pw_conv'].map((n) => outcome.layers.find((l) => l.name === n)!.after), [12, 12, 24]);
  assert.equal(shapeOf('stem_conv/kernel'), [3, 3, 1, 12]);
  assert.equal(shapeOf('block1_dw/depthwise_kernel'), [3, 3, 12, 1]);
  assert.equal(shapeOf('block1_dw_bn/gamma'), [12]);
  assert.equal(shapeOf('block1_pw_conv/kernel'), [1, 1, 12, 24]);
});

test('hostile: every neuron of a Dense layer dead keeps one, and the model loads and computes the masked logits', async () => {
  const backend = await example('mnist-mlp-tfjs');
  const { outcome, shapeOf } = await shrinkAndCompare(backend, new Map([['fc2/kernel', new Float32Array(300 * 100)]]), [DIGITS, 784]);
  const fc1 = outcome.layers[0]!;
  assert.equal([fc1.after, fc1.keptDead], [1, 1]);
  assert.match(fc1.reason ?? '', /every neuron is dead/);
  assert.equal(shapeOf('fc1/kernel'), [784, 1]);
});

test('channel walks: a Dense after a channels-last Flatten reads channel i % C in row i', async () => {
  const file = await readLayersModel(join(EXAMPLES, 'models', 'mnist-conv-tfjs'));
  const { layers, topology } = findTfjsLayers(file);
  const walks = tfjsChannelWalks(file, topology, layers);
  assert.equal(walks[1]!.path.map((p) => p.op.op), ['MaxPooling2D', 'Flatten']);
  assert.equal(Array.from(walks[1]!.readers[0]!.rowChannel), Array.from({ length: 400 }, (_, i) => i % 16));
});

test('built Layers model: PReLU slopes are sliced with their units; a softmax layer keeps every unit (keptDead, reason)', async () => {
  const built = tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [6], units: 8, name: 'd1', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.prelu({ name: 'p', alphaInitializer: tf.initializers.randomUniform({ minval: 0.1, maxval: 0.5, seed: 2 }) }),
      tf.layers.dense({ units: 5, activation: 'softmax', name: 'd2', kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }) }),
      tf.layers.dense({ units: 3, name: 'd3', kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
    ],
  });
  const source = await saveLayersModelFile(built, join(dir, 'built'));
  built.dispose();
  const backend = tfjsBackend(await readLayersModel(source));
  const d2 = backend.weightValues('d2/kernel'); // [8, 5]: d1's units 1, 4, 6 read by nothing
  for (const i of [1, 4, 6]) d2.fill(0, i * 5, i * 5 + 5);
  const d3 = backend.weightValues('d3/kernel'); // [5, 3]: d2's units 0 and 2 read by nothing
  d3.fill(0, 0, 3).fill(0, 6, 9);
  const values = new Map([['d2/kernel', d2], ['d3/kernel', d3]]);
  const outcome = backend.shrink!(values) as ShrinkOutcome<LayersModelArtifacts>;
  const x = Float32Array.from({ length: 50 * 6 }, (_, i) => Math.sin(i));
  const run = async (artifacts: LayersModelArtifacts) => {
    const folder = join(dir, `built${++written}`);
    await writeLayersModel(folder, artifacts);
    const model = await loadLayersModelFile(join(folder, 'model.json'));
    const out = predictFlat(model, x, [50, 6]);
    model.dispose();
    return out;
  };
  const diff = relativeDiff(await run(outcome.model), await run(backend.write(values)));
  assert.ok(diff <= TOLERANCE, `relative difference ${diff}`);
  assert.equal(outcome.layers.map((l) => [l.name, l.after, l.keptDead]), [['d1', 5, 0], ['d2', 5, 2], ['d3', 3, 0]]);
  assert.match(outcome.layers[1]!.reason ?? '', /softmax/);
  const manifest = (JSON.parse(outcome.model.modelJson) as { weightsManifest: Array<{ weights: Array<{ name: string; shape: number[] }> }> }).weightsManifest[0]!.weights;
  assert.equal(manifest.find((w) => w.name === 'p/alpha')!.shape, [5]);
});

test('a value for a weight the model does not have is refused with its name', async () => {
  const backend = await example('mnist-mlp-tfjs');
  assert.throws(() => backend.shrink!(new Map([['fc9/kernel', new Float32Array(3)]])), /cannot write weight 'fc9\/kernel'/);
});

test.run();

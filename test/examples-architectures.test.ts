// The committed architecture examples (examples/models, made by scripts/train-architectures.ts):
// each ONNX file loads in onnxruntime, has the structure it is shipped for (BatchNormalization,
// residual Adds, strided 1x1 projection, depthwise convs, Clip(0, 6), LayerNormalization,
// attention), and reaches the held-out accuracy recorded in its metadata on examples/data; the
// TF.js Layers twins load with tf.loadLayersModel and give the same logits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { readNpyFile } from '../src/io/npy.ts';
import { topOneAccuracy } from '../src/prune/evaluate.ts';

const { onnx } = onnxProto;
const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples');
/** The recorded accuracy is onnxruntime's on one machine; allow 2 of 2,000 digits to flip elsewhere. */
const ACCURACY_SLACK = 0.001;

await tf.setBackend('cpu');
const testX = await readNpyFile(join(EXAMPLES, 'data', 'mnist-test-x.npy'));
const testLabels = await readNpyFile(join(EXAMPLES, 'data', 'mnist-test-labels.npy'));
const count = testLabels.shape[0]!;

interface DecodedGraph {
  node: Onnx.NodeProto[];
  initializer: Onnx.TensorProto[];
}

function decode(file: string): { model: Onnx.ModelProto; graph: DecodedGraph } {
  const model = onnx.ModelProto.decode(readFileSync(join(EXAMPLES, 'models', file)));
  return { model, graph: model.graph as unknown as DecodedGraph };
}

function ops(graph: DecodedGraph): string[] {
  return graph.node.map(n => n.opType);
}

function countOf(list: string[], item: string): number {
  return list.filter(x => x === item).length;
}

function intsAttr(node: Onnx.NodeProto, name: string): number[] | number | undefined {
  const a = node.attribute.find(x => x.name === name);
  if (!a) return undefined;
  return a.type === onnx.AttributeProto.AttributeType.INTS ? (a.ints ?? []).map(Number) : Number(a.i);
}

function dims(graph: DecodedGraph, name: string): number[] {
  return graph.initializer.find(t => t.name === name)!.dims.map(Number);
}

async function onnxLogits(file: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(join(EXAMPLES, 'models', file));
  const out = await session.run({ input: new ort.Tensor('float32', testX.data, [count, 1, 28, 28]) });
  return out.logits!.data as Float32Array;
}

/** Top-1 accuracy on the held-out digits: the library's own measure (src/prune/evaluate.ts). */
function accuracy(logits: Float32Array): number {
  return topOneAccuracy(logits, Int32Array.from(testLabels.data));
}

/** max |a - b| / max |b|: relative to the largest logit, as the trainer checks it. */
function relativeDiff(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / scale;
}

async function loadTfjs(name: string): Promise<tf.LayersModel> {
  const dir = join(EXAMPLES, 'models', name);
  const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  return tf.loadLayersModel({
    load: () => tf.io.getModelArtifactsForJSON(modelJson, async manifest => {
      const specs = manifest.flatMap(group => group.weights);
      const shards = manifest.flatMap(group => group.paths.map(p => new Uint8Array(readFileSync(join(dir, p)))));
      return [specs, tf.io.concatenateArrayBuffers(shards.map(s => s.slice().buffer))];
    }),
  });
}

const logitsByFile = new Map<string, Float32Array>();

for (const file of ['mnist-resnet.onnx', 'mnist-resnet-folded.onnx', 'mnist-mobilenet.onnx', 'mnist-vit.onnx']) {
  test(`${file}: reaches its recorded held-out accuracy in onnxruntime`, async () => {
    const { model } = decode(file);
    assert.is(model.metadataProps.find(p => p.key === 'source')?.value, 'nettrim train-architectures');
    const recorded = Number(model.metadataProps.find(p => p.key === 'heldout_accuracy')?.value);
    assert.ok(recorded >= 0.9, `recorded accuracy ${recorded}`);
    const logits = await onnxLogits(file);
    logitsByFile.set(file, logits);
    const acc = accuracy(logits);
    assert.ok(acc >= recorded - ACCURACY_SLACK, `accuracy ${acc} below the recorded ${recorded}`);
    assert.ok(readFileSync(join(EXAMPLES, 'models', file)).length < 1 << 20, 'under 1 MB');
  });
}

test('resnet: BatchNormalization after every conv, two residual Adds, a strided 1x1 projection', () => {
  const { graph } = decode('mnist-resnet.onnx');
  const o = ops(graph);
  assert.is(countOf(o, 'Conv'), 6);
  assert.is(countOf(o, 'BatchNormalization'), 6);
  assert.is(countOf(o, 'Add'), 2);
  assert.is(countOf(o, 'Relu'), 5);
  assert.ok(o.includes('GlobalAveragePool') && o.at(-1) === 'Gemm');
  const proj = graph.node.find(n => n.name === 'block2_proj_conv')!;
  assert.equal(intsAttr(proj, 'kernel_shape'), [1, 1]);
  assert.equal(intsAttr(proj, 'strides'), [2, 2]);
  // Every Conv feeds a BN (no bias, as PyTorch writes conv+BN); each residual Add feeds a Relu.
  for (const n of graph.node.filter(x => x.opType === 'Conv')) {
    assert.is(n.input.length, 2, n.name);
    assert.is(graph.node.find(x => x.input[0] === n.output[0])!.opType, 'BatchNormalization');
  }
  for (const n of graph.node.filter(x => x.opType === 'Add')) {
    assert.is(graph.node.find(x => x.input[0] === n.output[0])!.opType, 'Relu');
  }
});

test('resnet folded: no BatchNormalization, convs with bias, same logits as the BN file', () => {
  const { graph } = decode('mnist-resnet-folded.onnx');
  const o = ops(graph);
  assert.is(countOf(o, 'BatchNormalization'), 0);
  assert.is(countOf(o, 'Conv'), 6);
  for (const n of graph.node.filter(x => x.opType === 'Conv')) assert.is(n.input.length, 3, n.name);
  const rel = relativeDiff(logitsByFile.get('mnist-resnet-folded.onnx')!, logitsByFile.get('mnist-resnet.onnx')!);
  assert.ok(rel < 1e-4, `folded vs BN logits differ by ${rel}`);
});

test('mobilenet: depthwise convs (group = channels), BN, Clip(0, 6) with min/max inputs', () => {
  const { model, graph } = decode('mnist-mobilenet.onnx');
  assert.ok(Number(model.opsetImport[0]!.version) >= 11);
  const depthwise = graph.node.filter(n => n.opType === 'Conv' && Number(intsAttr(n, 'group')) > 1);
  assert.is(depthwise.length, 3);
  for (const n of depthwise) {
    const [out, perGroup] = dims(graph, n.input[1]!);
    assert.is(perGroup, 1, n.name);
    assert.is(intsAttr(n, 'group'), out, n.name);
  }
  assert.ok(depthwise.some(n => (intsAttr(n, 'strides') as number[])[0] === 2));
  const clips = graph.node.filter(n => n.opType === 'Clip');
  assert.is(clips.length, 7);
  for (const c of clips) {
    assert.is(c.input.length, 3);
    const [min, max] = c.input.slice(1).map(name => new Float32Array(Uint8Array.from(graph.initializer.find(t => t.name === name)!.rawData).buffer)[0]);
    assert.equal([min, max], [0, 6]);
  }
  assert.is(countOf(ops(graph), 'BatchNormalization'), 7);
});

test('vit: opset 17 LayerNormalization, 3-D MatMuls, softmax attention, Erf GELU', () => {
  const { model, graph } = decode('mnist-vit.onnx');
  assert.is(Number(model.opsetImport[0]!.version), 17);
  const o = ops(graph);
  assert.is(countOf(o, 'LayerNormalization'), 5);
  assert.is(countOf(o, 'Softmax'), 2);
  assert.is(countOf(o, 'Erf'), 2);
  // Per block: Q, K, V, output projection, fc1, fc2, and the two attention products; plus the embedding.
  assert.is(countOf(o, 'MatMul'), 1 + 2 * 8);
  assert.equal(dims(graph, 'patch_embed.weight'), [49, 32]);
  assert.is(o.at(-1), 'Gemm');
});

for (const [name, onnxFile, layers] of [
  ['mnist-resnet-tfjs', 'mnist-resnet.onnx', ['BatchNormalization', 'Add', 'Conv2D']],
  ['mnist-mobilenet-tfjs', 'mnist-mobilenet.onnx', ['BatchNormalization', 'DepthwiseConv2D', 'ReLU']],
] as const) {
  test(`${name}: loads with tf.loadLayersModel, same logits as ${onnxFile}`, async () => {
    const model = await loadTfjs(name);
    const classes = model.layers.map(l => l.getClassName());
    for (const l of layers) assert.ok(classes.includes(l), `${l} in ${classes.join(',')}`);
    const logits = tf.tidy(() => (model.predict(tf.tensor4d(testX.data, [count, 28, 28, 1]), { batchSize: 500 }) as tf.Tensor).dataSync() as Float32Array);
    model.dispose();
    const rel = relativeDiff(logitsByFile.get(onnxFile) ?? await onnxLogits(onnxFile), logits);
    assert.ok(rel < 1e-4, `tfjs vs onnxruntime logits differ by ${rel}`);
  });
}

test.run();

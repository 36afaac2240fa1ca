// The committed example models (examples/models, made by scripts/train-mnist.ts) against the
// committed held-out digits: they must still load, keep their documented graph layout, classify
// >= 95% of the digits in onnxruntime, and agree with their TensorFlow.js Layers twins.
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

const { onnx } = onnxProto;
const EXAMPLES = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples');
const CLASSES = 10;

interface Expected {
  label: string;
  /** ONNX input dims, with the batch as 'N'. */
  input: Array<number | string>;
  /** [node name, op type], in graph order. */
  nodes: Array<[string, string]>;
  initializers: Record<string, number[]>;
  /** tfjs Layers input shape after the batch dim (NHWC for the CNN). */
  tfjsShape: number[];
}

const MLP: Expected = {
  label: 'mlp',
  input: ['N', 784],
  nodes: [['fc1', 'Gemm'], ['fc1.relu', 'Relu'], ['fc2', 'Gemm'], ['fc2.relu', 'Relu'], ['fc3', 'Gemm']],
  initializers: {
    'fc1.weight': [784, 300], 'fc1.bias': [300],
    'fc2.weight': [300, 100], 'fc2.bias': [100],
    'fc3.weight': [100, 10], 'fc3.bias': [10],
  },
  tfjsShape: [784],
};

const CONV: Expected = {
  label: 'conv',
  input: ['N', 1, 28, 28],
  nodes: [
    ['conv1', 'Conv'], ['conv1.relu', 'Relu'], ['pool1', 'MaxPool'],
    ['conv2', 'Conv'], ['conv2.relu', 'Relu'], ['pool2', 'MaxPool'],
    ['flatten', 'Flatten'], ['fc1', 'Gemm'], ['fc1.relu', 'Relu'], ['fc2', 'Gemm'],
  ],
  initializers: {
    'conv1.weight': [8, 1, 5, 5], 'conv1.bias': [8],
    'conv2.weight': [16, 8, 3, 3], 'conv2.bias': [16],
    'fc1.weight': [400, 64], 'fc1.bias': [64],
    'fc2.weight': [64, 10], 'fc2.bias': [10],
  },
  tfjsShape: [28, 28, 1],
};

await tf.setBackend('cpu');

// Loaded once: both models run on the same 2,000 held-out digits.
const testX = await readNpyFile(join(EXAMPLES, 'data', 'mnist-test-x.npy'));
const testLabels = await readNpyFile(join(EXAMPLES, 'data', 'mnist-test-labels.npy'));
const count = testLabels.shape[0]!;

function onnxPath(e: Expected): string {
  return join(EXAMPLES, 'models', `mnist-${e.label}.onnx`);
}

function decode(e: Expected): Onnx.ModelProto {
  return onnx.ModelProto.decode(readFileSync(onnxPath(e)));
}

/** decode() fills every repeated field with message instances, so the class types apply. */
interface DecodedGraph {
  node: Onnx.NodeProto[];
  initializer: Onnx.TensorProto[];
  input: Onnx.ValueInfoProto[];
  output: Onnx.ValueInfoProto[];
}

function graphOf(m: Onnx.ModelProto): DecodedGraph {
  assert.ok(m.graph, 'model has a graph');
  return m.graph as unknown as DecodedGraph;
}

function dimsOf(v: Onnx.IValueInfoProto | undefined): Array<number | string> {
  return (v?.type?.tensorType?.shape?.dim ?? []).map(d => (d.dimParam ? d.dimParam : Number(d.dimValue)));
}

function attr(node: Onnx.INodeProto, name: string): number | number[] | undefined {
  const a = node.attribute?.find(x => x.name === name);
  if (!a) return undefined;
  return a.type === onnx.AttributeProto.AttributeType.INTS ? (a.ints ?? []).map(Number) : Number(a.i);
}

async function onnxLogits(e: Expected): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(onnxPath(e));
  const dims = [count, ...e.input.slice(1).map(Number)];
  const out = await session.run({ input: new ort.Tensor('float32', testX.data, dims) });
  return out.logits!.data as Float32Array;
}

/** Pure tfjs has no file:// loader in Node: hand it model.json and the shards from disk. */
async function loadTfjs(e: Expected): Promise<tf.LayersModel> {
  const dir = join(EXAMPLES, 'models', `mnist-${e.label}-tfjs`);
  const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  return tf.loadLayersModel({
    load: () => tf.io.getModelArtifactsForJSON(modelJson, async manifest => {
      const specs = manifest.flatMap(group => group.weights);
      const shards = manifest.flatMap(group => group.paths.map(p => new Uint8Array(readFileSync(join(dir, p)))));
      return [specs, tf.io.concatenateArrayBuffers(shards.map(s => s.slice().buffer))];
    }),
  });
}

function accuracy(logits: Float32Array): number {
  let hits = 0;
  for (let r = 0; r < count; r++) {
    const row = logits.subarray(r * CLASSES, (r + 1) * CLASSES);
    if (row.indexOf(Math.max(...row)) === testLabels.data[r]) hits++;
  }
  return hits / count;
}

test('held-out digits: 2000 x 784 pixels in [0, 1], labels 0..9', () => {
  assert.equal(testX.shape, [2000, 784]);
  assert.equal(testLabels.shape, [2000]);
  assert.ok(testX.data.every(v => v >= 0 && v <= 1));
  assert.ok(testLabels.data.every(v => Number.isInteger(v) && v >= 0 && v <= 9));
});

for (const e of [MLP, CONV]) {
  test(`${e.label}: ONNX header, inputs and outputs`, () => {
    const m = decode(e);
    assert.is(Number(m.irVersion), 8);
    assert.equal(m.opsetImport.map(o => [o.domain ?? '', Number(o.version)]), [['', 13]]);
    assert.is(m.producerName, 'nettrim');
    assert.ok(m.docString.length > 0);
    assert.is(m.metadataProps.find(p => p.key === 'source')?.value, 'nettrim train-mnist');
    const g = graphOf(m);
    assert.equal(g.input.map(i => i.name), ['input']);
    assert.equal(dimsOf(g.input[0]), e.input);
    assert.equal(g.output.map(o => o.name), ['logits']);
    assert.equal(dimsOf(g.output[0]), ['N', 10]);
  });

  test(`${e.label}: node ops, attributes and initializer shapes`, () => {
    const g = graphOf(decode(e));
    assert.equal(g.node.map(n => [n.name, n.opType]), e.nodes);
    // A plain chain: every node reads the previous node's output (so each Relu follows its layer).
    g.node.forEach((n, i) => assert.is(n.input[0], i === 0 ? 'input' : g.node[i - 1]!.output[0], n.name));
    assert.equal(g.node.at(-1)!.output, ['logits']);
    const inits = Object.fromEntries(g.initializer.map(t => [t.name, t.dims.map(Number)]));
    assert.equal(inits, e.initializers);
    for (const t of g.initializer) {
      assert.is(t.dataType, onnx.TensorProto.DataType.FLOAT, t.name);
      assert.is(t.rawData.length, 4 * t.dims.map(Number).reduce((a, b) => a * b, 1), t.name);
    }
    for (const n of g.node) {
      if (n.opType === 'Gemm') {
        assert.equal(n.input.slice(1), [`${n.name}.weight`, `${n.name}.bias`]);
        assert.is(attr(n, 'transB'), 0);
      }
      if (n.opType === 'Conv') {
        const k = inits[`${n.name}.weight`]!.slice(2);
        assert.equal(attr(n, 'kernel_shape'), k);
        assert.equal(attr(n, 'pads'), [0, 0, 0, 0]);
        assert.equal(attr(n, 'strides'), [1, 1]);
      }
      if (n.opType === 'MaxPool') {
        assert.equal(attr(n, 'kernel_shape'), [2, 2]);
        assert.equal(attr(n, 'strides'), [2, 2]);
      }
    }
  });

  test(`${e.label}: >= 95% held-out accuracy in onnxruntime, same logits as tfjs`, async () => {
    const logits = await onnxLogits(e);
    const acc = accuracy(logits);
    assert.ok(acc >= 0.95, `accuracy ${acc}`);

    const model = await loadTfjs(e);
    const reference = tf.tidy(() => {
      const x = tf.tensor(testX.data, [count, ...e.tfjsShape]);
      return (model.predict(x, { batchSize: 500 }) as tf.Tensor).dataSync() as Float32Array;
    });
    model.dispose();
    let maxDiff = 0;
    let maxLogit = 0;
    for (let i = 0; i < logits.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(logits[i]! - reference[i]!));
      maxLogit = Math.max(maxLogit, Math.abs(reference[i]!));
    }
    // Relative to the largest logit: per-element relative error blows up near zero.
    assert.ok(maxDiff <= 1e-4 * maxLogit, `max |onnx - tfjs| ${maxDiff}, max |logit| ${maxLogit}`);
  });
}

test.run();

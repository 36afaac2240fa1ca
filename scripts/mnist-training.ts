// Pieces shared by the example trainers (scripts/train-mnist.ts: MLP and CNN;
// scripts/train-architectures.ts: ResNet-, MobileNet- and transformer-style models): faster
// gradient kernels for the tfjs CPU backend, the seeded training loop with shifted digits, the
// ONNX encoding helpers (onnx-proto schema classes), the TF.js Layers writer and the check of an
// encoded ONNX model in onnxruntime-node against the tfjs logits.

import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { writeFileAtomic } from '../src/io/atomic.ts';
import { CLASSES, PIXELS, SEED, mulberry32, permutation, pick, type DigitSet } from './mnist-split.ts';

export const { onnx } = onnxProto;

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const MODELS_DIR = join(ROOT, 'examples', 'models');
export const DATA_DIR = join(ROOT, 'examples', 'data');

// 2,000 rather than 1,000: with 1,000 digits, 219 of the 300 fc1 neurons are active on fewer digits
// than fc1 has nonzero inputs (605), so their program is underdetermined on its equality set and
// its solution fits the calibration digits better than new ones (held-out layer error 0.097 vs
// 0.05 at epsilon 0.05); with 2,000, 68 neurons and 0.073 (bench/prune-mnist.ts --calib-digits).
export const CALIB_COUNT = 2000;
export const LOGIT_RTOL = 1e-4;

// ---------------------------------------------------------------------------------------------
// A faster Conv2DBackpropFilter for the pure-JS CPU backend.
//
// The stock CPU kernel reads every element through TensorBuffer.get(...varargs) and spends
// ~1 s per batch of 64 on the 3x3x8x16 filter gradient: the CNN would need half an hour per epoch.
// This kernel computes the same sum (dW[r,c,i,o] = sum_{b,y,x} X[b, y*s+r-pad, x*s+c-pad, i] dY[b,y,x,o])
// with flat indices, over 20x faster. It only changes how tfjs computes one gradient, not the model;
// installFastFilterGrad() checks it against the stock kernel before training starts.

interface CpuBackendLike {
  data: { get(id: tf.DataId): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

const conv2DBackpropFilterFast: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode,
    false, tf.backend_util.convertConv2DDataFormat(a.dataFormat));
  if (info.dataFormat !== 'channelsLast') throw new Error('fast filter gradient: NHWC only');
  const cpu = backend as CpuBackendLike;
  const xv = cpu.data.get(x.dataId).values as Float32Array;
  const dyv = cpu.data.get(dy.dataId).values as Float32Array;
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
    filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dw = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let yr = 0; yr < outHeight; yr++) {
      for (let yc = 0; yc < outWidth; yc++) {
        const dyOff = ((b * outHeight + yr) * outWidth + yc) * outChannels;
        for (let wr = 0; wr < filterHeight; wr++) {
          const xr = yr * strideHeight + wr - top;
          if (xr < 0 || xr >= inHeight) continue;
          for (let wc = 0; wc < filterWidth; wc++) {
            const xc = yc * strideWidth + wc - left;
            if (xc < 0 || xc >= inWidth) continue;
            const xOff = ((b * inHeight + xr) * inWidth + xc) * inChannels;
            const wOff = (wr * filterWidth + wc) * inChannels * outChannels;
            for (let i = 0; i < inChannels; i++) {
              const xi = xv[xOff + i]!;
              if (xi === 0) continue; // post-ReLU inputs are mostly zero
              const row = wOff + i * outChannels;
              for (let o = 0; o < outChannels; o++) dw[row + o] += xi * dyv[dyOff + o]!;
            }
          }
        }
      }
    }
  }
  return cpu.makeTensorInfo(info.filterShape, 'float32', Float32Array.from(dw));
};

/** Filter gradients of a few small convolutions, with whatever kernel is registered now. */
function sampleFilterGrads(): Float32Array[] {
  type Shape4 = [number, number, number, number];
  const cases: Array<[Shape4, Shape4, 'valid' | 'same', number]> = [
    [[3, 9, 9, 2], [3, 3, 2, 4], 'valid', 1],
    [[2, 8, 7, 3], [5, 5, 3, 2], 'same', 1],
    [[2, 9, 9, 1], [3, 3, 1, 3], 'same', 2],
  ];
  return cases.map(([xs, ws, pad, stride], k) => tf.tidy(() => {
    const x = tf.randomUniform(xs, -1, 1, 'float32', SEED + k) as tf.Tensor4D;
    const w = tf.randomUniform(ws, -1, 1, 'float32', SEED + 10 + k);
    const g = tf.grad(v => tf.conv2d(x, v as tf.Tensor4D, stride, pad).square().sum())(w);
    return g.dataSync() as Float32Array;
  }));
}

export function installFastFilterGrad(): void {
  const reference = sampleFilterGrads();
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'cpu', kernelFunc: conv2DBackpropFilterFast });
  const fast = sampleFilterGrads();
  reference.forEach((ref, k) => {
    const err = maxAbsDiff(ref, fast[k]!) / Math.max(maxAbs(ref), 1e-12);
    if (err > 1e-5) throw new Error(`fast Conv2DBackpropFilter disagrees with tfjs (case ${k}, rel ${err})`);
  });
}

/** Seeded Glorot-uniform kernels (the Keras default, made reproducible). */
export function glorot(seed: number): ReturnType<typeof tf.initializers.glorotUniform> {
  return tf.initializers.glorotUniform({ seed });
}

export interface TrainPlan {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Largest random translation, in pixels, applied to each training digit every epoch. */
  maxShift: number;
}

/**
 * Each digit moved by a random whole-pixel offset in [-maxShift, maxShift]^2, zero-filled.
 * With only 8,000 digits the MLP overfits (train loss -> 0.01, held-out ~95.5%); 1-pixel
 * shifts lift it to ~97% on a validation split at the same cost per epoch.
 */
export function shiftDigits(set: DigitSet, random: () => number, maxShift: number): DigitSet {
  const x = new Float32Array(set.x.length);
  const offset = () => Math.floor(random() * (2 * maxShift + 1)) - maxShift;
  for (let r = 0; r < set.count; r++) {
    const dy = offset();
    const dx = offset();
    const base = r * PIXELS;
    for (let i = Math.max(0, dy); i < Math.min(28, 28 + dy); i++) {
      for (let j = Math.max(0, dx); j < Math.min(28, 28 + dx); j++) {
        x[base + i * 28 + j] = set.x[base + (i - dy) * 28 + (j - dx)]!;
      }
    }
  }
  return { x, labels: set.labels, count: set.count };
}

/** The model's input layout: [N, 784] for the MLP, NHWC [N, 28, 28, 1] for tfjs convolutions. */
export function inputTensor(x: Float32Array, count: number, image: boolean): tf.Tensor {
  return image ? tf.tensor4d(x, [count, 28, 28, 1]) : tf.tensor2d(x, [count, PIXELS]);
}

/** Adam on softmax cross-entropy of the logits; each epoch sees a fresh seeded shuffle and shifts. */
export async function train(model: tf.LayersModel, data: DigitSet, image: boolean, plan: TrainPlan, label: string): Promise<number> {
  // Softmax lives only in the loss, so the exported graphs end in raw logits.
  model.compile({
    optimizer: tf.train.adam(plan.learningRate),
    loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.losses.softmaxCrossEntropy(yTrue, yPred),
  });
  const random = mulberry32(SEED + 100);
  const start = performance.now();
  for (let epoch = 0; epoch < plan.epochs; epoch++) {
    const order = permutation(data.count, random);
    const shuffled = shiftDigits(pick(data, order, 0, data.count), random, plan.maxShift);
    const xs = inputTensor(shuffled.x, data.count, image);
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(shuffled.labels, 'int32'), CLASSES));
    const h = await model.fit(xs, ys, { epochs: 1, batchSize: plan.batchSize, shuffle: false, verbose: 0 });
    tf.dispose([xs, ys]);
    const loss = Number(h.history.loss?.[0]);
    console.log(`  ${label} epoch ${epoch + 1}/${plan.epochs}: loss ${loss.toFixed(4)} (${((performance.now() - start) / 1000).toFixed(1)} s)`);
  }
  return (performance.now() - start) / 1000;
}

/** Logits of the model on `data`, row-major [count, 10]. */
export function tfjsLogits(model: tf.LayersModel, data: DigitSet, image: boolean): Float32Array {
  return tf.tidy(() => {
    const xs = inputTensor(data.x, data.count, image);
    return (model.predict(xs, { batchSize: 250 }) as tf.Tensor).dataSync() as Float32Array;
  });
}

// ---------------------------------------------------------------------------------------------
// Numerics helpers

export function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function accuracy(logits: Float32Array, labels: Float32Array): number {
  let hits = 0;
  for (let r = 0; r < labels.length; r++) {
    let best = 0;
    for (let c = 1; c < CLASSES; c++) if (logits[r * CLASSES + c]! > logits[r * CLASSES + best]!) best = c;
    if (best === labels[r]) hits++;
  }
  return hits / labels.length;
}

// ---------------------------------------------------------------------------------------------
// ONNX export (through the onnx-proto schema classes; protobufjs does the encoding)

export type NodeSpec = { op: string; name: string; inputs: string[]; output: string; attrs?: Onnx.IAttributeProto[]; doc: string };

export function attrInts(name: string, ints: number[]): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints };
}
export function attrInt(name: string, i: number): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i };
}
export function attrFloat(name: string, f: number): Onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.FLOAT, f };
}

/** A float32 initializer; raw_data must be little-endian, which is what Float32Array holds here. */
export function initializer(name: string, dims: number[], data: Float32Array, doc: string): Onnx.ITensorProto {
  return {
    name, dims, docString: doc,
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)),
  };
}

/** Float tensor type; a string dimension is symbolic (the batch `N`). */
export function valueInfo(name: string, dims: Array<number | string>, doc?: string): Onnx.IValueInfoProto {
  return {
    name, docString: doc,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map(d => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/** Gemm Y = X B + C with B stored [in, out] (transB = 0): the Keras kernel layout, and Net-Trim's W. */
export function gemm(name: string, input: string, output: string, doc: string): NodeSpec {
  return {
    op: 'Gemm', name, inputs: [input, `${name}.weight`, `${name}.bias`], output, doc,
    attrs: [attrFloat('alpha', 1), attrFloat('beta', 1), attrInt('transA', 0), attrInt('transB', 0)],
  };
}

export function relu(name: string, input: string, output: string): NodeSpec {
  return { op: 'Relu', name, inputs: [input], output, doc: `ReLU after ${input.split('.')[0]}` };
}

export function conv(name: string, input: string, output: string, k: number, doc: string): NodeSpec {
  return {
    op: 'Conv', name, inputs: [input, `${name}.weight`, `${name}.bias`], output, doc,
    attrs: [attrInts('kernel_shape', [k, k]), attrInts('pads', [0, 0, 0, 0]), attrInts('strides', [1, 1]), attrInts('dilations', [1, 1]), attrInt('group', 1)],
  };
}

export function maxPool(name: string, input: string, output: string): NodeSpec {
  return {
    op: 'MaxPool', name, inputs: [input], output, doc: '2x2 max pooling, stride 2, no padding',
    attrs: [attrInts('kernel_shape', [2, 2]), attrInts('strides', [2, 2]), attrInts('pads', [0, 0, 0, 0])],
  };
}

export interface GraphSpec {
  name: string;
  doc: string;
  inputDims: Array<number | string>;
  nodes: NodeSpec[];
  initializers: Onnx.ITensorProto[];
  /** Shapes of the intermediate tensors, recorded so readers need no shape inference. */
  intermediates: Array<[string, Array<number | string>]>;
  metadata: Record<string, string>;
  /** Default 13 (the MLP and CNN); LayerNormalization needs 17. */
  opset?: number;
}

export function encodeModel(g: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: g.opset ?? 13 }],
    producerName: 'nettrim',
    producerVersion: '0.1.0',
    domain: 'nettrim.examples',
    modelVersion: 1,
    docString: g.doc,
    metadataProps: Object.entries(g.metadata).map(([key, value]) => ({ key, value })),
    graph: {
      name: g.name,
      docString: g.doc,
      input: [valueInfo('input', g.inputDims, 'pixels in [0, 1]')],
      output: [valueInfo('logits', ['N', CLASSES], 'unnormalised class scores (softmax not included)')],
      valueInfo: g.intermediates.map(([name, dims]) => valueInfo(name, dims)),
      initializer: g.initializers,
      node: g.nodes.map(n => ({ opType: n.op, name: n.name, input: n.inputs, output: [n.output], attribute: n.attrs ?? [], docString: n.doc })),
    },
  });
  const err = onnx.ModelProto.verify(model);
  if (err) throw new Error(`invalid ModelProto: ${err}`);
  return onnx.ModelProto.encode(model).finish();
}

/** A Dense layer as Gemm initializers: B = kernel [in, out], C = bias [out]. */
export function denseInitializers(model: tf.LayersModel, layer: string, onnxName: string, rowsTransform?: (k: tf.Tensor) => tf.Tensor): Onnx.ITensorProto[] {
  const [kernel, bias] = model.getLayer(layer).getWeights() as [tf.Tensor, tf.Tensor];
  const b = rowsTransform ? tf.tidy(() => rowsTransform(kernel)) : kernel;
  const [inDim, outDim] = b.shape as [number, number];
  const out = [
    initializer(`${onnxName}.weight`, [inDim, outDim], b.dataSync() as Float32Array, `Gemm B, [in=${inDim}, out=${outDim}] (transB=0)`),
    initializer(`${onnxName}.bias`, [outDim], bias.dataSync() as Float32Array, `Gemm C, [${outDim}]`),
  ];
  if (b !== kernel) b.dispose();
  return out;
}

/** A Conv2D layer: tfjs kernel [kh, kw, in, out] becomes ONNX [out, in, kh, kw]. */
export function convInitializers(model: tf.LayersModel, layer: string): Onnx.ITensorProto[] {
  const [kernel, bias] = model.getLayer(layer).getWeights() as [tf.Tensor, tf.Tensor];
  const w = tf.tidy(() => kernel.transpose([3, 2, 0, 1]));
  const [o, i, kh, kw] = w.shape as [number, number, number, number];
  const out = [
    initializer(`${layer}.weight`, [o, i, kh, kw], w.dataSync() as Float32Array, `Conv W, [out=${o}, in=${i}, kh=${kh}, kw=${kw}]`),
    initializer(`${layer}.bias`, [o], bias.dataSync() as Float32Array, `Conv B, [${o}]`),
  ];
  w.dispose();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Files

/** Atomic write (temp file + rename, see src/io/atomic.ts), creating the directory first. */
export async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  await writeFileAtomic(path, bytes);
}

/** model.json + one weights shard, the layout tf.io.http / file:// loaders expect. */
export async function saveLayersModel(model: tf.LayersModel, dir: string, script = 'scripts/train-mnist.ts'): Promise<void> {
  const shard = 'group1-shard1of1.bin';
  await model.save(tf.io.withSaveHandler(async artifacts => {
    const weights = new Uint8Array(new tf.io.CompositeArrayBuffer(artifacts.weightData).slice());
    const json = {
      format: artifacts.format ?? 'layers-model',
      generatedBy: artifacts.generatedBy,
      convertedBy: `nettrim ${script}`,
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: [shard], weights: artifacts.weightSpecs }],
    };
    await writeAtomic(join(dir, shard), weights);
    await writeAtomic(join(dir, 'model.json'), `${JSON.stringify(json)}\n`);
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
  }));
}

// ---------------------------------------------------------------------------------------------
// Verification in onnxruntime-node

/** Runs the encoded model in onnxruntime straight from its bytes, before anything is written. */
export async function onnxLogits(bytes: Uint8Array, data: DigitSet, inputDims: number[]): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const result = await session.run({ input: new ort.Tensor('float32', data.x, inputDims) });
  const logits = result.logits;
  if (!logits) throw new Error("no 'logits' output");
  return logits.data as Float32Array;
}

export async function verify(label: string, bytes: Uint8Array, reference: Float32Array, test: DigitSet, inputDims: number[]): Promise<void> {
  const got = await onnxLogits(bytes, test, inputDims);
  // Relative to the largest logit: per-element relative error is meaningless for logits near 0.
  const rel = maxAbsDiff(got, reference) / maxAbs(reference);
  const pct = (logits: Float32Array) => `${(accuracy(logits, test.labels) * 100).toFixed(2)}%`;
  console.log(`  ${label}: held-out accuracy tfjs ${pct(reference)}, onnxruntime ${pct(got)}; max |diff| / max |logit| = ${rel.toExponential(2)}`);
  if (!(rel <= LOGIT_RTOL)) throw new Error(`${label}: ONNX logits differ from tfjs (${rel} > ${LOGIT_RTOL})`);
}


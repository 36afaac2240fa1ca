// The ResNet-style and MobileNet-style example CNNs as tfjs functional models (Keras layer names
// and layouts, so the TF.js Layers files look like a Keras export). Kernels are seeded; convs
// before a BatchNormalization have no bias, as in torchvision and Keras applications.
import * as tf from '@tensorflow/tfjs';
import { CLASSES, SEED } from '../mnist-split.ts';
import { glorot } from '../mnist-training.ts';

/** BN momentum 0.9 (Keras: 0.99) so the moving statistics settle within a few short epochs. */
const BN = { momentum: 0.9, epsilon: 1e-3 };

let seedOffset = 0;
function nextSeed(): number {
  return SEED + 200 + seedOffset++;
}

function convBn(x: tf.SymbolicTensor, name: string, filters: number, kernelSize: number, strides: number): tf.SymbolicTensor {
  const conv = tf.layers.conv2d({ name: `${name}_conv`, filters, kernelSize, strides, padding: 'same', useBias: false, kernelInitializer: glorot(nextSeed()) });
  return tf.layers.batchNormalization({ name: `${name}_bn`, ...BN }).apply(conv.apply(x)) as tf.SymbolicTensor;
}

function relu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.activation({ name, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
}

/** Basic residual block: conv-BN-ReLU-conv-BN + skip (1x1 strided conv-BN when the shape changes), ReLU. */
function residualBlock(x: tf.SymbolicTensor, name: string, filters: number, strides: number): tf.SymbolicTensor {
  const inChannels = x.shape[3]!;
  const a = relu(convBn(x, `${name}_1`, filters, 3, strides), `${name}_1_relu`);
  const b = convBn(a, `${name}_2`, filters, 3, 1);
  const skip = strides !== 1 || inChannels !== filters ? convBn(x, `${name}_proj`, filters, 1, strides) : x;
  const sum = tf.layers.add({ name: `${name}_add` }).apply([b, skip]) as tf.SymbolicTensor;
  return relu(sum, `${name}_out`);
}

function head(x: tf.SymbolicTensor): tf.SymbolicTensor {
  const pooled = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
  return tf.layers.dense({ name: 'fc', units: CLASSES, kernelInitializer: glorot(nextSeed()) }).apply(pooled) as tf.SymbolicTensor;
}

/**
 * ResNet-style: stem 3x3/2 conv (1->w, 28->14) BN ReLU; block1 w->w at 14x14 (identity skip);
 * block2 w->2w, stride 2 (14->7) with a strided 1x1 projection conv + BN on the skip; GAP; Dense.
 */
export function buildResnet(width: number): tf.LayersModel {
  seedOffset = 0;
  const input = tf.input({ name: 'input', shape: [28, 28, 1] });
  const stem = relu(convBn(input, 'stem', width, 3, 2), 'stem_relu');
  const b1 = residualBlock(stem, 'block1', width, 1);
  const b2 = residualBlock(b1, 'block2', 2 * width, 2);
  return tf.model({ name: 'mnist_resnet', inputs: input, outputs: head(b2) });
}

function relu6(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return tf.layers.reLU({ name, maxValue: 6 }).apply(x) as tf.SymbolicTensor;
}

/** Depthwise 3x3 conv -> BN -> ReLU6, pointwise 1x1 conv -> BN -> ReLU6 (MobileNet v1 block). */
function separableBlock(x: tf.SymbolicTensor, name: string, filters: number, strides: number): tf.SymbolicTensor {
  const dw = tf.layers.depthwiseConv2d({ name: `${name}_dw`, kernelSize: 3, strides, padding: 'same', depthMultiplier: 1, useBias: false, depthwiseInitializer: glorot(nextSeed()) });
  const dwBn = tf.layers.batchNormalization({ name: `${name}_dw_bn`, ...BN }).apply(dw.apply(x)) as tf.SymbolicTensor;
  const a = relu6(dwBn, `${name}_dw_relu6`);
  return relu6(convBn(a, `${name}_pw`, filters, 1, 1), `${name}_pw_relu6`);
}

/** MobileNet-style: stem 3x3/2 conv (1->16) BN ReLU6; separable 16->24, 24->32 /2, 32->32; GAP; Dense. */
export function buildMobilenet(): tf.LayersModel {
  seedOffset = 0;
  const input = tf.input({ name: 'input', shape: [28, 28, 1] });
  const stem = relu6(convBn(input, 'stem', 16, 3, 2), 'stem_relu6');
  const b1 = separableBlock(stem, 'block1', 24, 1);
  const b2 = separableBlock(b1, 'block2', 32, 2);
  const b3 = separableBlock(b2, 'block3', 32, 1);
  return tf.model({ name: 'mnist_mobilenet', inputs: input, outputs: head(b3) });
}

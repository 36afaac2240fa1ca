// The records every model format and the pruning pipeline share about a prunable layer: what it
// is (ModelLayer), its operator's parameters (Gemm, Conv), what follows it in the graph
// (LayerStructure, found by follow.ts), and the layers left alone (SkippedLayer).
import type { Activation } from '../types.ts';

/** A prunable layer: a dense or convolution layer whose weights one Net-Trim program per group replaces. */
export interface ModelLayer {
  /** Position among the prunable layers, in topological order (also keys the position sampling). */
  index: number;
  name: string;
  /** The format's name of the operator: Gemm, MatMul, Conv (ONNX); Dense, Conv2D (TensorFlow.js). */
  op: string;
  /** The nodes or layers the pruned layer spans (e.g. [MatMul, Add]). */
  nodes: string[];
  /** The tensor the layer reads (X) and the tensor it produces before its ReLU (W^T X + b), for messages. */
  input: string;
  output: string;
  /** 'relu' when the program has inactive (or saturated) outputs to keep, 'linear' otherwise: see `structure`. */
  activation: Activation;
  /** What follows the layer up to its activation, which the program keeps (graph/follow.ts). */
  structure: LayerStructure;
  /** Names of the stored weight and bias tensors. */
  weight: string;
  bias: string | null;
  weightDims: number[];
  /** One program per group: N inputs (bias row not counted) and M outputs each. */
  inputSize: number;
  outputSize: number;
  groups: number;
  /** ONNX Gemm: transA/transB, alpha, beta. */
  gemm?: GemmParams;
  /** Convolutions (1-D lifted to 2-D). */
  conv?: ConvParams;
  /** Data layout of a convolution's input and output: ONNX is 'nchw', TensorFlow.js channels_last 'nhwc'. */
  layout?: 'nchw' | 'nhwc';
}

/** The structure a layer's program keeps, and why. Channels are the layer's outputs over all groups. */
export interface LayerStructure {
  /** out = scale * (W^T x + b) + shift per channel, before the skip and the activation; null: none. */
  affine: { scale: Float32Array; shift: Float32Array } | null;
  /** The run-time tensor added before the activation (the other branch of a residual Add), or null. */
  skip: string | null;
  /** The activation's range: Relu (0, Infinity), ReLU6 (0, 6); null: the program is linear. */
  clip: { min: number; max: number } | null;
  /** The graph operations the program covers after the layer itself, in order. */
  ops: string[];
  /** One sentence: which constraint the program applies and why. */
  reason: string;
}

export interface GemmParams {
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
}

/** Conv attributes, 1-D convolutions lifted to 2-D (height 1). Pads are [top, left, bottom, right]. */
export interface ConvParams {
  spatialRank: 1 | 2;
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pads: [number, number, number, number];
  autoPad: 'NOTSET' | 'SAME_UPPER' | 'SAME_LOWER' | 'VALID';
  group: number;
  inChannels: number;
  outChannels: number;
}

export interface SkippedLayer {
  name: string;
  op: string;
  reason: string;
}

/** New values of some stored float32 tensors, by tensor name; every other tensor keeps its trained values. */
export type WeightValues = ReadonlyMap<string, Float32Array>;

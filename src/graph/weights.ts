// Between a layer's stored tensors (Gemm's B and C with alpha/beta and transB, MatMul's B and the
// Add constant, Conv's [Cout, Cin/group, kh, kw] kernel and B; TensorFlow.js Dense [N, M] and
// Conv2D [kh, kw, Cin/groups, Cout] kernels) and the program's W (N x M, row n = input n, as
// method.md writes W^T x) and bias (M), one program per group.
import type { ModelLayer } from './layer.ts';

export interface ProgramWeights {
  /** N x M row-major: the effective weights the layer applies (alpha folded in for Gemm). */
  weights: Float32Array;
  /** M effective biases (beta folded in), or null when the layer has none. */
  bias: Float32Array | null;
}

/** The program weights of `group` read from the stored weight and bias values. */
export function toProgram(layer: ModelLayer, group: number, weight: Float32Array, bias: Float32Array | null): ProgramWeights {
  const { inputSize: n, outputSize: m } = layer;
  const w = new Float32Array(n * m);
  const scale = layer.gemm?.alpha ?? 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) w[i * m + j] = scale * weight[storedIndex(layer, group, i, j)]!;
  }
  let b: Float32Array | null = null;
  if (bias && layer.bias) {
    const beta = layer.gemm?.beta ?? 1;
    b = new Float32Array(m);
    for (let j = 0; j < m; j++) b[j] = beta * bias[group * m + j]!;
  }
  return { weights: w, bias: b };
}

/** Writes a program's solution into the stored weight and bias arrays (the inverse of toProgram). */
export function fromProgram(
  layer: ModelLayer, group: number, program: ProgramWeights, weight: Float32Array, bias: Float32Array | null,
): void {
  const { inputSize: n, outputSize: m } = layer;
  const scale = layer.gemm?.alpha ?? 1;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) weight[storedIndex(layer, group, i, j)] = program.weights[i * m + j]! / scale;
  }
  if (bias && program.bias) {
    const beta = layer.gemm?.beta ?? 1;
    for (let j = 0; j < m; j++) bias[group * m + j] = program.bias[j]! / beta;
  }
}

/** Index in the stored weight tensor of program entry (input i, output j) of `group`. */
export function storedIndex(layer: ModelLayer, group: number, i: number, j: number): number {
  const { inputSize: n, outputSize: m } = layer;
  if (layer.op === 'Conv' && layer.layout !== 'nhwc') return (group * m + j) * n + i; // [Cout][Cin/group * kh * kw]
  if (layer.gemm?.transB) return j * n + i; // B is M x N
  return i * layer.groups * m + group * m + j; // B is N x M; channels-last kernels [kh * kw * Cin/groups][Cout]
}

/** Nonzero entries of a weight array. */
export function countNonzero(values: Float32Array): number {
  let count = 0;
  for (let i = 0; i < values.length; i++) if (values[i] !== 0) count++;
  return count;
}

/**
 * For a convolution, the input channel each program row reads (group-major: row i of group g at
 * g * N + i): rows are [C/groups][kh][kw] for ONNX (NCHW) and [kh][kw][C/groups] for TensorFlow.js
 * (NHWC). This is the rowNeuron of a convolution after a convolution, and its channel, taken
 * within the group, is the row group of the group program (programs.ts).
 */
export function inputChannelOfRows(layer: ModelLayer): Int32Array {
  const { inputSize: n, groups, conv } = layer;
  if (!conv) throw new Error(`nettrim: '${layer.name}' is not a convolution`);
  const perGroup = n / (conv.kernel[0] * conv.kernel[1]), taps = conv.kernel[0] * conv.kernel[1];
  const nhwc = layer.layout === 'nhwc';
  return Int32Array.from({ length: groups * n }, (_, r) => {
    const g = Math.floor(r / n), i = r % n;
    return g * perGroup + (nhwc ? i % perGroup : Math.floor(i / taps));
  });
}

// The three gradient kernels @tensorflow/tfjs-backend-wasm 4.22 lacks (Conv2DBackpropFilter,
// DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput) and a faster Tile,
// written as flat JS loops over the wasm heap so the example CNNs train on the wasm backend.
// Its XNNPACK forward convolutions are ~20x faster than the pure-JS CPU backend's here; 10 training
// batches of a 16/32-channel ResNet took 23 s on wasm and 144 s on cpu (with train-mnist's fast
// filter gradient), a tiny ViT 16 s and 81 s, on the shared machine. installWasmGradients() checks
// every kernel against the stock CPU kernels before anything trains. NHWC, dilation 1 only.
import * as tf from '@tensorflow/tfjs';
import { SEED } from './mnist-split.ts';

/** The part of BackendWasm these kernels use. */
interface WasmBackendLike {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

/** A new wasm tensor holding `values` (allocated after all reads: heap growth moves views). */
function output(backend: WasmBackendLike, shape: number[], values: Float64Array): tf.TensorInfo {
  const out = backend.makeOutput(shape, 'float32');
  backend.typedArrayFromHeap(out).set(values);
  return out;
}

function convInfo(xShape: number[], filterShape: [number, number, number, number], strides: number | [number, number],
  pad: unknown, dilations: number | [number, number], dimRoundingMode: unknown, depthwise: boolean): tf.backend_util.Conv2DInfo {
  const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape, strides,
    dilations, pad as 'same', dimRoundingMode as 'floor', depthwise, 'channelsLast');
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error('wasm gradient kernels: dilation 1 only');
  return info;
}

/**
 * Visits every (output position, filter tap) pair whose input position is inside the image:
 * visit(xOffset, dyOffset, tapIndex), offsets pointing at channel 0 of the pixel.
 */
function forEachTap(info: tf.backend_util.Conv2DInfo, visit: (xOff: number, dyOff: number, tap: number) => void): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
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
            visit(((b * inHeight + xr) * inWidth + xc) * inChannels, dyOff, wr * filterWidth + wc);
          }
        }
      }
    }
  }
}

/** dW[r,c,i,o] = sum_{b,y,x} X[b, y*s+r-pad, x*s+c-pad, i] dY[b,y,x,o]. */
const conv2DBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const info = convInfo(x.shape, a.filterShape, a.strides, a.pad, 1, a.dimRoundingMode, false);
  const wasm = backend as unknown as WasmBackendLike;
  const xv = wasm.typedArrayFromHeap(x);
  const dyv = wasm.typedArrayFromHeap(dy);
  const { inChannels, outChannels } = info;
  const dw = new Float64Array(info.filterHeight * info.filterWidth * inChannels * outChannels);
  forEachTap(info, (xOff, dyOff, tap) => {
    const wOff = tap * inChannels * outChannels;
    for (let i = 0; i < inChannels; i++) {
      const xi = xv[xOff + i]!;
      if (xi === 0) continue;
      const row = wOff + i * outChannels;
      for (let o = 0; o < outChannels; o++) dw[row + o] += xi * dyv[dyOff + o]!;
    }
  });
  return output(wasm, info.filterShape, dw);
};

/** Depthwise filter [kh, kw, C, m]: output channel c*m + q reads input channel c. */
const depthwiseBackpropFilter: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = convInfo(x.shape, a.filterShape, a.strides, a.pad, a.dilations, a.dimRoundingMode, true);
  const wasm = backend as unknown as WasmBackendLike;
  const xv = wasm.typedArrayFromHeap(x);
  const dyv = wasm.typedArrayFromHeap(dy);
  const { inChannels, outChannels } = info;
  const m = outChannels / inChannels;
  const dw = new Float64Array(info.filterHeight * info.filterWidth * outChannels);
  forEachTap(info, (xOff, dyOff, tap) => {
    const wOff = tap * outChannels;
    for (let c = 0; c < inChannels; c++) {
      const xc = xv[xOff + c]!;
      for (let q = 0; q < m; q++) dw[wOff + c * m + q] += xc * dyv[dyOff + c * m + q]!;
    }
  });
  return output(wasm, info.filterShape, dw);
};

/** dX[b, y*s+r-pad, x*s+c-pad, c] += dY[b,y,x,c*m+q] W[r,c,c,q] (scatter over taps). */
const depthwiseBackpropInput: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
  const a = attrs as unknown as tf.DepthwiseConv2dNativeBackpropInputAttrs;
  const info = convInfo(a.inputShape, filter.shape as [number, number, number, number], a.strides, a.pad, a.dilations, a.dimRoundingMode, true);
  const wasm = backend as unknown as WasmBackendLike;
  const dyv = wasm.typedArrayFromHeap(dy);
  const wv = wasm.typedArrayFromHeap(filter);
  const { inChannels, outChannels } = info;
  const m = outChannels / inChannels;
  const dx = new Float64Array(a.inputShape.reduce((p, d) => p * d, 1));
  forEachTap(info, (xOff, dyOff, tap) => {
    const wOff = tap * outChannels;
    for (let c = 0; c < inChannels; c++) {
      let sum = 0;
      for (let q = 0; q < m; q++) sum += dyv[dyOff + c * m + q]! * wv[wOff + c * m + q]!;
      dx[xOff + c] += sum;
    }
  });
  return output(wasm, a.inputShape, dx);
};

/**
 * Tile with an N-d counter: the stock wasm kernel takes ~150 ms to tile [1,1,1,16] to
 * [64,14,14,16] (BatchNormalization's gradient does this for every BN layer, every batch).
 */
const tile: tf.KernelFunc = ({ inputs, backend, attrs }) => {
  const { x } = inputs as { x: tf.TensorInfo };
  const { reps } = attrs as unknown as tf.TileAttrs;
  const wasm = backend as unknown as WasmBackendLike;
  if (x.dtype !== 'float32') throw new Error('wasm Tile: float32 only');
  const xv = wasm.typedArrayFromHeap(x);
  const inShape = x.shape;
  const outShape = inShape.map((d, i) => d * reps[i]!);
  const rank = inShape.length;
  const inStrides = new Array<number>(rank).fill(1);
  for (let i = rank - 2; i >= 0; i--) inStrides[i] = inStrides[i + 1]! * inShape[i + 1]!;
  const size = outShape.reduce((p, d) => p * d, 1);
  const out = new Float64Array(size);
  const last = rank - 1;
  const index = new Array<number>(rank).fill(0);
  // Walk the output row by row (innermost axis contiguous), copying from the wrapped source row.
  const rowLength = outShape[last] ?? 1;
  for (let o = 0; o < size; o += rowLength) {
    let src = 0;
    for (let i = 0; i < last; i++) src += (index[i]! % inShape[i]!) * inStrides[i]!;
    const n = inShape[last] ?? 1;
    for (let j = 0; j < rowLength; j++) out[o + j] = xv[src + (j % n)]!;
    for (let i = last - 1; i >= 0; i--) {
      if (++index[i]! < outShape[i]!) break;
      index[i] = 0;
    }
  }
  return output(wasm, outShape, out);
};

/** Gradients of a few small (depthwise) convolutions on the current backend. */
function sampleGradients(): Float32Array[] {
  type Shape4 = [number, number, number, number];
  const cases: Array<[Shape4, Shape4, 'valid' | 'same', number, boolean]> = [
    [[3, 9, 9, 2], [3, 3, 2, 4], 'valid', 1, false],
    [[2, 8, 7, 3], [5, 5, 3, 2], 'same', 1, false],
    [[2, 9, 9, 1], [3, 3, 1, 3], 'same', 2, false],
    [[2, 8, 8, 3], [3, 3, 3, 1], 'same', 1, true],
    [[2, 9, 8, 4], [3, 3, 4, 2], 'same', 2, true],
    [[2, 7, 7, 2], [3, 3, 2, 1], 'valid', 2, true],
  ];
  return cases.flatMap(([xs, ws, pad, stride, depthwise], k) => tf.tidy(() => {
    const x = tf.randomUniform(xs, -1, 1, 'float32', SEED + k) as tf.Tensor4D;
    const w = tf.randomUniform(ws, -1, 1, 'float32', SEED + 10 + k) as tf.Tensor4D;
    const f = (xv: tf.Tensor, wv: tf.Tensor) => (depthwise
      ? tf.depthwiseConv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, stride, pad)
      : tf.conv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, stride, pad)).square().sum();
    const [gx, gw] = tf.grads(f)([x, w]);
    return [gx!.dataSync() as Float32Array, gw!.dataSync() as Float32Array];
  })).concat([[[2, 1, 3], [1, 4, 2]], [[1, 1, 1, 5], [3, 2, 2, 1]], [[4], [3]]].map(([shape, reps], k) => tf.tidy(() =>
    tf.tile(tf.randomUniform(shape!, -1, 1, 'float32', SEED + 20 + k), reps!).dataSync() as Float32Array)));
}

/** Registers the kernels on the wasm backend (once) and checks them against the CPU backend's. */
export async function installWasmGradients(): Promise<void> {
  const kernels: Array<[string, tf.KernelFunc]> = [
    ['Conv2DBackpropFilter', conv2DBackpropFilter],
    ['DepthwiseConv2dNativeBackpropFilter', depthwiseBackpropFilter],
    ['DepthwiseConv2dNativeBackpropInput', depthwiseBackpropInput],
    ['Tile', tile],
  ];
  for (const [kernelName, kernelFunc] of kernels) {
    if (tf.getKernel(kernelName, 'wasm')?.kernelFunc === kernelFunc) continue;
    if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc });
  }
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  const reference = sampleGradients();
  await tf.setBackend('wasm');
  const ours = sampleGradients();
  reference.forEach((ref, k) => {
    const got = ours[k]!;
    let diff = 0;
    let scale = 1e-12;
    for (let i = 0; i < ref.length; i++) {
      diff = Math.max(diff, Math.abs(ref[i]! - got[i]!));
      scale = Math.max(scale, Math.abs(ref[i]!));
    }
    if (diff / scale > 1e-5) throw new Error(`wasm gradient kernel disagrees with the tfjs CPU backend (case ${k}, rel ${diff / scale})`);
  });
  if (previous) await tf.setBackend(previous);
}

// Patch unfolding (im2col) of method.md section 4: each (sample, output position) of a convolution
// becomes one row of the program's X, holding the C * kh * kw input values the kernel reads there
// (zeros where the patch reaches into the padding). Row layout matches the kernel [Cout][C][kh][kw],
// so the columns of one group are a contiguous block. Only sampled positions are unfolded.
import { InputError } from '../errors.ts';
import type { ConvParams } from './layer.ts';

/** A convolution's geometry once the input size is known. */
export interface ConvGeometry extends ConvParams {
  height: number;
  width: number;
  outHeight: number;
  outWidth: number;
  /** Padding actually applied before the first row and column (auto_pad resolved). */
  padTop: number;
  padLeft: number;
}

/** Resolves output size and padding for an input of dims [B, C, H, W] (or [B, C, L] for 1-D). */
export function convGeometry(params: ConvParams, inputDims: readonly number[], layerName = 'Conv'): ConvGeometry {
  const rank = params.spatialRank;
  if (inputDims.length !== rank + 2) {
    throw new InputError(`${layerName}: input has dims [${inputDims.join(', ')}], expected ${rank + 2} dims`);
  }
  if (inputDims[1] !== params.inChannels) {
    throw new InputError(`${layerName}: input has ${inputDims[1]} channels, the kernel expects ${params.inChannels}`);
  }
  const height = rank === 1 ? 1 : inputDims[2]!;
  const width = inputDims[rank === 1 ? 2 : 3]!;
  const [outHeight, padTop] = axis(height, params.kernel[0], params.strides[0], params.dilations[0], params.pads[0], params.pads[2], params.autoPad);
  const [outWidth, padLeft] = axis(width, params.kernel[1], params.strides[1], params.dilations[1], params.pads[1], params.pads[3], params.autoPad);
  if (outHeight < 1 || outWidth < 1) throw new InputError(`${layerName}: the kernel does not fit the ${height}x${width} input`);
  return { ...params, height, width, outHeight, outWidth, padTop, padLeft };
}

/**
 * Unfolds the patches of one sample at the given output positions (oy * outWidth + ox).
 * `x` holds the sample's C x H x W values from `xOffset`; rows of C * kh * kw go to `out` from row `outRow`.
 */
export function unfoldPatchesInto(
  g: ConvGeometry, x: Float32Array, xOffset: number, positions: ArrayLike<number>, out: Float32Array, outRow: number,
): void {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides;
  const [dh, dw] = g.dilations;
  const rowLength = g.inChannels * kh * kw;
  const plane = g.height * g.width;
  for (let r = 0; r < positions.length; r++) {
    const pos = positions[r]!;
    const oy = Math.floor(pos / g.outWidth);
    const ox = pos - oy * g.outWidth;
    let k = (outRow + r) * rowLength;
    for (let c = 0; c < g.inChannels; c++) {
      const base = xOffset + c * plane;
      for (let i = 0; i < kh; i++) {
        const y = oy * sh - g.padTop + i * dh;
        const inside = y >= 0 && y < g.height;
        for (let j = 0; j < kw; j++, k++) {
          const xx = ox * sw - g.padLeft + j * dw;
          out[k] = inside && xx >= 0 && xx < g.width ? x[base + y * g.width + xx]! : 0;
        }
      }
    }
  }
}

/**
 * The channels-last twin of unfoldPatchesInto (TensorFlow.js, kernel [kh, kw, C/groups, Cout]):
 * `x` holds the sample's H x W x C values from `xOffset`; each row holds, group after group, the
 * kh x kw x C/groups values of that group's patch (channels innermost, the kernel's order).
 */
export function unfoldPatchesNhwcInto(
  g: ConvGeometry, x: Float32Array, xOffset: number, positions: ArrayLike<number>, out: Float32Array, outRow: number,
): void {
  const [kh, kw] = g.kernel;
  const [sh, sw] = g.strides;
  const [dh, dw] = g.dilations;
  const channels = g.inChannels;
  const perGroup = channels / g.group;
  const rowLength = channels * kh * kw;
  for (let r = 0; r < positions.length; r++) {
    const pos = positions[r]!;
    const oy = Math.floor(pos / g.outWidth);
    const ox = pos - oy * g.outWidth;
    let k = (outRow + r) * rowLength;
    for (let group = 0; group < g.group; group++) {
      for (let i = 0; i < kh; i++) {
        const y = oy * sh - g.padTop + i * dh;
        for (let j = 0; j < kw; j++) {
          const xx = ox * sw - g.padLeft + j * dw;
          if (y >= 0 && y < g.height && xx >= 0 && xx < g.width) {
            const base = xOffset + (y * g.width + xx) * channels + group * perGroup;
            for (let c = 0; c < perGroup; c++) out[k++] = x[base + c]!;
          } else {
            out.fill(0, k, k + perGroup);
            k += perGroup;
          }
        }
      }
    }
  }
}

/**
 * Copies the channel vectors of a [C, H', W'] output at the given positions into rows of `out`
 * (C values per row), from row `outRow`. `z` holds the sample's values from `zOffset`.
 */
export function gatherPositionsInto(
  z: Float32Array, zOffset: number, channels: number, plane: number, positions: ArrayLike<number>,
  out: Float32Array, outRow: number,
): void {
  for (let r = 0; r < positions.length; r++) {
    const pos = positions[r]!;
    const row = (outRow + r) * channels;
    for (let c = 0; c < channels; c++) out[row + c] = z[zOffset + c * plane + pos]!;
  }
}

/** Output size and leading pad along one axis (ONNX Conv, auto_pad included). */
function axis(
  size: number, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number,
  autoPad: ConvParams['autoPad'],
): [out: number, padBegin: number] {
  const span = (kernel - 1) * dilation + 1;
  if (autoPad === 'VALID') return [Math.floor((size - span) / stride) + 1, 0];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const out = Math.ceil(size / stride);
    const total = Math.max(0, (out - 1) * stride + span - size);
    return [out, autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : Math.ceil(total / 2)];
  }
  return [Math.floor((size + padBegin + padEnd - span) / stride) + 1, padBegin];
}

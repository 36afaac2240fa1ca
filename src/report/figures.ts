// The pictures of a pruned network that the JSON report has no room for: each layer's kept-weight
// mask, downsampled to at most MAX_CELLS x MAX_CELLS blocks, and for the first layer the number of
// weights kept per input pixel (a heat map in the shape of the input image). The HTML report
// (html.ts) embeds them beside the report; the JSON report stays as it was.
import type { ModelInput } from '../onnx/inputs.ts';
import { toProgram } from '../graph/weights.ts';
import type { ModelLayer } from '../graph/layer.ts';

/** Most blocks along each side of a mask image: 200 x 200 one-byte cells are 53 kB in base64. */
export const MAX_CELLS = 200;
/** Fewest blocks along a side, however many layers there are. */
export const MIN_CELLS = 16;
/** Cells of all masks together (533 kB in base64): keeps a page of many layers under 1 MB. */
export const CELL_BUDGET = 400_000;

export interface MaskFigure {
  /** Rows: the layer's outputs (all groups, one after another); columns: the N inputs of a program. */
  rows: number;
  cols: number;
  /** Each cell covers blockRows x blockCols weights (the last ones may be cut by the edge). */
  blockRows: number;
  blockCols: number;
  /** Cell kept fractions scaled to 0..255, row-major, base64 of the bytes. */
  cells: string;
  /** Weights kept in the whole mask (equals the layer's nnzAfter): a check the page can show. */
  kept: number;
}

/** Kept weights per input position: a width x height picture of counts, row-major. */
export interface InputMapFigure {
  /** 'pixels': a dense layer on the model input (counts over outputs and channels per pixel);
   * 'kernel taps': a convolution's kernel positions (counts over outputs and channels). */
  kind: 'pixels' | 'kernel taps';
  /** The input is flat (N values) and N is a square: shown as a square picture, which may not be what it is. */
  guessed: boolean;
  width: number;
  height: number;
  counts: number[];
  /** The most a position can have: outputs (x channels for pixels, x channels/groups for taps). */
  max: number;
}

export interface LayerFigure {
  name: string;
  mask: MaskFigure;
  inputMap: InputMapFigure | null;
}

export interface ReportFigures {
  layers: LayerFigure[];
}

/** The figures of the pruned layers (`weight`: stored layout, as written to the model). */
export function buildFigures(
  inputs: readonly ModelInput[], solved: ReadonlyArray<{ layer: ModelLayer; weight: Float32Array }>,
): ReportFigures {
  const side = maskSide(solved.length);
  return {
    layers: solved.map(({ layer, weight }, k) => {
      const kept = keptMatrix(layer, weight);
      return { name: layer.name, mask: maskFigure(kept, layer.groups * layer.outputSize, layer.inputSize, side), inputMap: k === 0 ? inputMap(layer, kept, inputs) : null };
    }),
  };
}

/** Blocks per side of each mask: MAX_CELLS, less when the layers would overrun CELL_BUDGET. */
export function maskSide(layers: number): number {
  return Math.max(MIN_CELLS, Math.min(MAX_CELLS, Math.floor(Math.sqrt(CELL_BUDGET / Math.max(1, layers)))));
}

/** 1 where a weight is kept: rows = outputs of every group, columns = program inputs. */
function keptMatrix(layer: ModelLayer, weight: Float32Array): Uint8Array {
  const { inputSize: n, outputSize: m, groups } = layer;
  const kept = new Uint8Array(groups * m * n);
  for (let g = 0; g < groups; g++) {
    const w = toProgram(layer, g, weight, null).weights; // N x M, row i = input i
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) if (w[i * m + j] !== 0) kept[(g * m + j) * n + i] = 1;
    }
  }
  return kept;
}

function maskFigure(kept: Uint8Array, rows: number, cols: number, side: number): MaskFigure {
  const blockRows = Math.ceil(rows / side);
  const blockCols = Math.ceil(cols / side);
  const cellRows = Math.ceil(rows / blockRows);
  const cellCols = Math.ceil(cols / blockCols);
  const sums = new Uint32Array(cellRows * cellCols);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (!kept[r * cols + c]) continue;
      sums[Math.floor(r / blockRows) * cellCols + Math.floor(c / blockCols)]!++;
      total++;
    }
  }
  const cells = new Uint8Array(sums.length);
  for (let cr = 0; cr < cellRows; cr++) {
    for (let cc = 0; cc < cellCols; cc++) {
      const size = (Math.min(rows, (cr + 1) * blockRows) - cr * blockRows) * (Math.min(cols, (cc + 1) * blockCols) - cc * blockCols);
      cells[cr * cellCols + cc] = Math.round((255 * sums[cr * cellCols + cc]!) / size);
    }
  }
  return { rows, cols, blockRows, blockCols, cells: base64(cells), kept: total };
}

/**
 * The first layer's kept count per input position. A dense layer reading the whole input image
 * (N = the input's size): per pixel, the picture shaped as the input (H x W from its dims, or a
 * square when the input is flat and N is a square). A convolution: per kernel tap, kh x kw.
 */
function inputMap(layer: ModelLayer, kept: Uint8Array, inputs: readonly ModelInput[]): InputMapFigure | null {
  const n = layer.inputSize;
  const outputs = layer.groups * layer.outputSize;
  const perInput = new Array<number>(n).fill(0);
  for (let r = 0; r < outputs; r++) for (let i = 0; i < n; i++) perInput[i]! += kept[r * n + i]!;
  if (layer.conv) {
    const [kh, kw] = layer.conv.kernel;
    const channels = n / (kh * kw);
    const counts = new Array<number>(kh * kw).fill(0);
    for (let i = 0; i < n; i++) {
      // nchw kernels are [C][kh][kw]; channels-last ones [kh][kw][C]
      const tap = layer.layout === 'nhwc' ? Math.floor(i / channels) : i % (kh * kw);
      counts[tap]! += perInput[i]!;
    }
    return { kind: 'kernel taps', guessed: false, width: kw, height: kh, counts, max: outputs * channels };
  }
  const image = imageShape(inputs[0]?.dims ?? null, n);
  if (!image) return null;
  const { height, width, channels, channelsLast, guessed } = image;
  const counts = new Array<number>(height * width).fill(0);
  for (let i = 0; i < n; i++) {
    const pixel = channelsLast ? Math.floor(i / channels) : i % (height * width);
    counts[pixel]! += perInput[i]!;
  }
  return { kind: 'pixels', guessed, width, height, counts, max: outputs * channels };
}

/** Height, width and channels of an image input of `n` values, or null when it does not look like one. */
function imageShape(
  dims: ModelInput['dims'], n: number,
): { height: number; width: number; channels: number; channelsLast: boolean; guessed: boolean } | null {
  const rest = (dims ?? []).slice(1);
  if (rest.length > 0 && rest.every((d): d is number => typeof d === 'number') && rest.reduce((a, b) => a * b, 1) === n) {
    if (rest.length === 2) return { height: rest[0]!, width: rest[1]!, channels: 1, channelsLast: false, guessed: false };
    if (rest.length === 3) {
      // [C, H, W] when the first is a small channel count, else [H, W, C]
      const channelsFirst = rest[0]! <= 4 && rest[2]! > 4;
      return channelsFirst
        ? { height: rest[1]!, width: rest[2]!, channels: rest[0]!, channelsLast: false, guessed: false }
        : { height: rest[0]!, width: rest[1]!, channels: rest[2]!, channelsLast: true, guessed: false };
    }
  }
  // a flat input (MNIST's 784 = 28 x 28): a square of at least 8 x 8, said to be a guess on the page
  const side = Math.round(Math.sqrt(n));
  return side * side === n && side >= 8 ? { height: side, width: side, channels: 1, channelsLast: false, guessed: true } : null;
}

/** Base64 of bytes with the global btoa (Node, browsers, Deno alike), in chunks under the argument limit. */
function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let k = 0; k < bytes.length; k += 0x8000) binary += String.fromCharCode(...bytes.subarray(k, k + 0x8000));
  return btoa(binary);
}

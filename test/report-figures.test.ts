// The HTML report's pictures (src/report/figures.ts): masks in the right orientation and block
// shading, the first layer's per-pixel and per-tap counts for both kernel layouts, and a page of
// many layers kept under its size budget.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fromProgram } from '../src/graph/weights.ts';
import type { ModelLayer } from '../src/graph/layer.ts';
import { buildFigures, CELL_BUDGET, MAX_CELLS, maskSide } from '../src/report/figures.ts';
import { mulberry32 } from '../src/onnx/sampling.ts';

function dense(name: string, n: number, m: number, transB = false): ModelLayer {
  return {
    index: 0, name, op: 'Gemm', nodes: [name], input: 'x', output: 'y', activation: 'relu', weight: `${name}.w`, bias: null,
    weightDims: transB ? [m, n] : [n, m], inputSize: n, outputSize: m, groups: 1, ...(transB ? { gemm: { transA: false, transB: true, alpha: 1, beta: 1 } } : {}),
  } as ModelLayer;
}

function conv(layout: 'nchw' | 'nhwc', channels: number, k: number, filters: number): ModelLayer {
  return {
    index: 0, name: `conv-${layout}`, op: layout === 'nchw' ? 'Conv' : 'Conv2D', nodes: ['c'], input: 'x', output: 'y', activation: 'relu',
    weight: 'c.w', bias: null, weightDims: [], inputSize: channels * k * k, outputSize: filters, groups: 1,
    conv: { kernel: [k, k] }, layout,
  } as unknown as ModelLayer;
}

/** Stored weights of `layer` from program form (N x M, row i = input i). */
function stored(layer: ModelLayer, program: Float32Array): Float32Array {
  const out = new Float32Array(layer.inputSize * layer.outputSize);
  fromProgram(layer, 0, { weights: program, bias: null }, out, null);
  return out;
}

test('a dense mask: one cell per weight, rows = outputs, columns = inputs, in either stored layout', () => {
  for (const transB of [false, true]) {
    const layer = dense('fc', 64, 3, transB);
    const program = new Float32Array(64 * 3);
    program[5 * 3 + 1] = 0.7; // input 5 -> output 1
    program[63 * 3 + 2] = -1; // input 63 -> output 2
    program[5 * 3 + 2] = 2; // input 5 -> output 2
    const [f] = buildFigures([{ name: 'x', elemType: 1, dims: ['N', 64] }], [{ layer, weight: stored(layer, program) }]).layers;
    assert.equal([f!.mask.rows, f!.mask.cols, f!.mask.blockRows, f!.mask.blockCols, f!.mask.kept], [3, 64, 1, 1, 3]);
    const cells = Buffer.from(f!.mask.cells, 'base64');
    const dark = [...cells.keys()].filter((k) => cells[k] === 255);
    assert.equal(dark, [1 * 64 + 5, 2 * 64 + 5, 2 * 64 + 63]);
    assert.ok([...cells].every((v) => v === 0 || v === 255));
    // 64 flat inputs: drawn as a guessed 8 x 8 picture of kept counts per pixel
    const map = f!.inputMap!;
    assert.equal([map.kind, map.guessed, map.width, map.height, map.max], ['pixels', true, 8, 8, 3]);
    assert.is(map.counts[5], 2);
    assert.is(map.counts[63], 1);
    assert.is(map.counts.reduce((a, b) => a + b, 0), 3);
  }
});

test('blocks shade by the share kept; an input shaped N x 28 x 28 is a 28 x 28 picture, not a guess', () => {
  const layer = dense('fc', 784, 500);
  const program = new Float32Array(784 * 500);
  for (let i = 0; i < 784; i++) for (let j = 0; j < 500; j++) if ((i + j) % 4 === 0) program[i * 500 + j] = 1;
  const [f] = buildFigures([{ name: 'x', elemType: 1, dims: ['N', 28, 28] }], [{ layer, weight: stored(layer, program) }]).layers;
  assert.equal([f!.mask.blockRows, f!.mask.blockCols], [Math.ceil(500 / MAX_CELLS), Math.ceil(784 / MAX_CELLS)]);
  const cells = Buffer.from(f!.mask.cells, 'base64');
  assert.is(cells.length, Math.ceil(500 / 3) * Math.ceil(784 / 4));
  assert.is(cells[0], Math.round(255 * 3 / 12)); // rows 0..2 x columns 0..3: (i + j) % 4 == 0 three times
  assert.is(f!.mask.kept, 784 * 500 / 4);
  assert.equal([f!.inputMap!.guessed, f!.inputMap!.width, f!.inputMap!.height], [false, 28, 28]);
  assert.ok(f!.inputMap!.counts.every((c) => c === 125));
});

test('a first convolution: kept counts per kernel tap, channels-first and channels-last alike', () => {
  for (const layout of ['nchw', 'nhwc'] as const) {
    const layer = conv(layout, 2, 3, 4);
    const program = new Float32Array(18 * 4);
    for (let i = 0; i < 18; i++) {
      const tap = layout === 'nhwc' ? Math.floor(i / 2) : i % 9;
      if (tap === 2) for (let j = 0; j < 4; j++) program[i * 4 + j] = 1; // top right tap, both channels, every filter
      if (tap === 4 && i < 9 && layout === 'nchw') program[i * 4] = 1; // centre tap, channel 0, filter 0
      if (tap === 4 && i % 2 === 0 && layout === 'nhwc') program[i * 4] = 1;
    }
    const [f] = buildFigures([], [{ layer, weight: stored(layer, program) }]).layers;
    const map = f!.inputMap!;
    assert.equal([map.kind, map.width, map.height, map.max], ['kernel taps', 3, 3, 8], layout);
    assert.equal(map.counts, [0, 0, 8, 0, 1, 0, 0, 0, 0], layout);
  }
});

test('many layers: the masks share a fixed budget, so the page stays under 1 MB', () => {
  const random = mulberry32(5);
  const layers = Array.from({ length: 60 }, (_, k) => {
    const layer = { ...dense(`fc${k}`, 300, 300), index: k };
    return { layer, weight: Float32Array.from({ length: 300 * 300 }, () => (random() < 0.3 ? 1 : 0)) };
  });
  const side = maskSide(60);
  assert.ok(side < MAX_CELLS && side * side * 60 <= CELL_BUDGET);
  const figures = buildFigures([], layers);
  const bytes = figures.layers.reduce((n, f) => n + f.mask.cells.length, 0);
  assert.ok(bytes < 600_000, `${bytes} bytes of masks`);
  for (const f of figures.layers) assert.ok(Math.ceil(f.mask.rows / f.mask.blockRows) <= side && Math.ceil(f.mask.cols / f.mask.blockCols) <= side);
  assert.equal(figures.layers.map((f, k) => f.mask.kept), layers.map((l) => l.weight.reduce((a, b) => a + b, 0)));
});

test.run();

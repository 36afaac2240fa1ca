// Our patch unfolding against onnxruntime's own Conv: W^T x over our im2col rows must equal the
// runtime's output at the sampled positions, for strides, pads, dilations, groups, auto_pad, 1-D.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GraphBuilder, type AttributeValue } from '../src/onnx/builder.ts';
import { convGeometry } from '../src/graph/im2col.ts';
import { findLayers } from '../src/onnx/layers.ts';
import { initializerValues, parseModel } from '../src/onnx/model.ts';
import { collectSignals } from '../src/onnx/signals.ts';
import { columnsPerSample, mulberry32, samplePositions } from '../src/onnx/sampling.ts';
import { toProgram } from '../src/graph/weights.ts';

const random = mulberry32(11);
const values = (n: number): number[] => Array.from({ length: n }, () => random() * 2 - 1);

interface Case {
  name: string;
  input: number[];
  kernel: number[];
  attributes: Record<string, AttributeValue>;
  bias?: boolean;
}

const CASES: Case[] = [
  { name: 'plain 3x3', input: [5, 2, 7, 7], kernel: [3, 2, 3, 3], attributes: {}, bias: true },
  { name: 'strides and asymmetric pads', input: [4, 3, 9, 8], kernel: [4, 3, 3, 2], attributes: { strides: [2, 3], pads: [1, 0, 2, 1] }, bias: true },
  { name: 'dilations', input: [3, 2, 10, 10], kernel: [2, 2, 3, 3], attributes: { dilations: [2, 3], pads: [2, 2, 2, 2] } },
  { name: 'groups', input: [3, 6, 6, 6], kernel: [9, 2, 3, 3], attributes: { group: 3, pads: [1, 1, 1, 1] }, bias: true },
  { name: 'depthwise with stride', input: [3, 4, 8, 8], kernel: [4, 1, 3, 3], attributes: { group: 4, strides: [2, 2] }, bias: true },
  { name: 'auto_pad SAME_UPPER', input: [2, 2, 7, 6], kernel: [3, 2, 4, 3], attributes: { auto_pad: 'SAME_UPPER', strides: [2, 1] } },
  { name: 'auto_pad SAME_LOWER', input: [2, 2, 7, 6], kernel: [3, 2, 4, 4], attributes: { auto_pad: 'SAME_LOWER' }, bias: true },
  { name: 'auto_pad VALID', input: [2, 1, 9, 9], kernel: [2, 1, 5, 3], attributes: { auto_pad: 'VALID', strides: [2, 2] } },
  { name: '1-D conv', input: [4, 3, 20], kernel: [5, 3, 4], attributes: { strides: [2], pads: [1, 2], dilations: [2] }, bias: true },
];

for (const c of CASES) {
  test(`im2col columns reproduce onnxruntime's Conv: ${c.name}`, async () => {
    const b = new GraphBuilder().input('x', ['batch', ...c.input.slice(1)]).initializer('K', c.kernel, values(c.kernel.reduce((a, v) => a * v, 1)));
    if (c.bias) b.initializer('B', [c.kernel[0]!], values(c.kernel[0]!));
    b.node('Conv', c.bias ? ['x', 'K', 'B'] : ['x', 'K'], ['y'], c.attributes, 'conv').output('y');
    const model = parseModel(b.toBytes(), c.name);
    const { layers, skipped } = findLayers(model);
    assert.equal(skipped, []);
    const layer = layers[0]!;
    const count = c.input.reduce((a, v) => a * v, 1);
    const feeds = new Map([['x', { data: Float32Array.from(values(count)), shape: c.input }]]);
    const budget = 23; // fewer than all positions: exercises the sampling
    const [s] = await collectSignals(model.bytes, c.name, layers, feeds, c.input[0]!, { batchSize: 2, maxColumns: budget, seed: 3 });
    assert.is(s!.columns, Math.min(budget, c.input[0]! * s!.geometry!.outHeight * s!.geometry!.outWidth));
    const stored = initializerValues(model, 'K');
    const bias = c.bias ? initializerValues(model, 'B') : null;
    const { inputSize: n, outputSize: m } = layer;
    let worst = 0;
    let scale = 0;
    for (let g = 0; g < layer.groups; g++) {
      const p = toProgram(layer, g, stored, bias);
      for (let r = 0; r < s!.columns; r++) {
        for (let j = 0; j < m; j++) {
          let sum = p.bias ? p.bias[j]! : 0;
          for (let i = 0; i < n; i++) sum += s!.inputs[r * s!.inputWidth + g * n + i]! * p.weights[i * m + j]!;
          const z = s!.outputs[r * s!.outputWidth + g * m + j]!;
          worst = Math.max(worst, Math.abs(sum - z));
          scale = Math.max(scale, Math.abs(z));
        }
      }
    }
    assert.ok(scale > 0.1, 'outputs are not trivially zero');
    assert.ok(worst < 1e-5, `max |W^T x - runtime| = ${worst}`);
  });
}

test('geometry matches the ONNX output size formula and refuses a wrong channel count', () => {
  const params = {
    spatialRank: 2 as const, kernel: [3, 3] as [number, number], strides: [2, 2] as [number, number],
    dilations: [1, 1] as [number, number], pads: [1, 1, 1, 1] as [number, number, number, number],
    autoPad: 'NOTSET' as const, group: 1, inChannels: 3, outChannels: 8,
  };
  const g = convGeometry(params, [1, 3, 28, 28]);
  assert.equal([g.outHeight, g.outWidth], [14, 14]);
  assert.throws(() => convGeometry(params, [1, 4, 28, 28]), /4 channels, the kernel expects 3/);
});

test('sampling: even spread over samples, distinct sorted positions, same seed same picks', () => {
  const counts = columnsPerSample(10, 50, 123);
  assert.is(counts.reduce((a, b) => a + b, 0), 123);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1);
  assert.equal(Array.from(columnsPerSample(3, 4, 100)), [4, 4, 4]);
  const a = samplePositions(1, 2, 3, 100, 20);
  assert.equal(Array.from(a), Array.from(samplePositions(1, 2, 3, 100, 20)));
  assert.not.equal(Array.from(a), Array.from(samplePositions(1, 2, 4, 100, 20)));
  assert.is(new Set(a).size, 20);
  assert.ok(a.every((v, i) => i === 0 || v > a[i - 1]!));
  const most = samplePositions(5, 0, 0, 10, 9);
  assert.is(new Set(most).size, 9);
});

test.run();

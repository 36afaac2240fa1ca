// Reading and writing TensorFlow.js Layers models: quantized weights come back as TensorFlow.js
// itself decodes them, big models are cut into 4 MB shards it loads, channels-last convolutions
// unfold into programs that reproduce the layer, and broken directories (missing or wrong-sized
// shards, truncated model.json) give one clear message and write nothing, also through the command.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prune } from './helpers/cli.ts';
import { encodeNpy } from '../src/io/npy.ts';
import { InputError } from '../src/errors.ts';
import { Collector } from '../src/onnx/signals.ts';
import { toProgram } from '../src/graph/weights.ts';
import type { LayerSignals } from '../src/prune/backend.ts';
import type { ModelLayer } from '../src/graph/layer.ts';
import { tfjsBackend } from '../src/tfjs/backend.ts';
import { halfToFloat } from '../src/tfjs/model.ts';
import { encodeLayersModel, pruneLayersModel, readLayersModel, writeLayersModel } from '../src/tfjs/prune.ts';
import { SHARD_BYTES } from '../src/tfjs/write.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';
import { loadLayersModelFile, saveLayersModelFile, tf, weightsByName } from './helpers/tfjs.ts';

const random = gaussian(seededRandom(7));
const dir = mkdtempSync(join(tmpdir(), 'nettrim-tfjs-model-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

/** Sequential 6 -> Dense 5 relu -> Dense 3; kernel 1 uint8, bias 1 float16, kernel 2 uint16, bias 2 float32. */
function quantizedModel(folder: string): { path: string; bytes: Uint8Array } {
  const k1 = Uint8Array.from({ length: 30 }, (_, i) => (i * 37) % 256);
  const b1 = Uint16Array.from([0x3c00, 0xbc00, 0x3555, 0x0001, 0x7bff]); // 1, -1, 0.333, smallest subnormal, 65504
  const k2 = Uint16Array.from({ length: 15 }, (_, i) => (i * 4099) % 65536);
  const b2 = Float32Array.from([0.1, -0.2, 0.3]);
  const bytes = new Uint8Array([...k1, ...new Uint8Array(b1.buffer), ...new Uint8Array(k2.buffer), ...new Uint8Array(b2.buffer)]);
  const dense = (name: string, units: number, activation: string, shape?: number[]) => ({
    class_name: 'Dense', config: { name, units, activation, use_bias: true, ...(shape ? { batch_input_shape: shape, dtype: 'float32' } : {}) },
  });
  const json = {
    format: 'layers-model', generatedBy: 'test', convertedBy: 'hand',
    modelTopology: { class_name: 'Sequential', config: { name: 'q', layers: [dense('d1', 5, 'relu', [null, 6]), dense('d2', 3, 'linear')] } },
    weightsManifest: [{
      paths: ['group1-shard1of1.bin'],
      weights: [
        { name: 'd1/kernel', shape: [6, 5], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.01, min: -1.2 } },
        { name: 'd1/bias', shape: [5], dtype: 'float32', quantization: { dtype: 'float16' } },
        { name: 'd2/kernel', shape: [5, 3], dtype: 'float32', quantization: { dtype: 'uint16', scale: 3e-5, min: -0.9 } },
        { name: 'd2/bias', shape: [3], dtype: 'float32' },
      ],
    }],
  };
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
  writeFileSync(join(folder, 'group1-shard1of1.bin'), bytes);
  return { path: join(folder, 'model.json'), bytes };
}

test('uint8, uint16 and float16 weights: the values TensorFlow.js decodes; the pruned model is float32', async () => {
  const { path } = quantizedModel(join(dir, 'quantized'));
  const file = await readLayersModel(path);
  const reference = weightsByName(await loadLayersModelFile(path));
  for (const w of file.weights) assert.equal(Array.from(w.values), Array.from(reference.get(w.name)!), w.name);
  assert.equal(file.weights.map((w) => w.quantized), ['uint8', 'float16', 'uint16', null]);
  assert.is(file.weights[0]!.values[1], 37 * 0.01 - 1.2 === Math.fround(37 * 0.01 - 1.2) ? 37 * 0.01 - 1.2 : Math.fround(37 * 0.01 - 1.2));
  assert.equal([0x3c00, 0xbc00, 0x0001, 0x7bff, 0x7c00, 0x8000].map(halfToFloat), [1, -1, 2 ** -24, 65504, Infinity, -0]);

  const x = fill(100 * 6, random);
  const { model, report } = await pruneLayersModel(file, { data: x, shape: [100, 6] }, { epsilon: 0.1 });
  assert.equal(report.layers.map((l) => [l.name, l.activation, l.inputs, l.outputs]), [['d1', 'relu', 6, 5], ['d2', 'linear', 5, 3]]);
  const manifest = JSON.parse(model.modelJson).weightsManifest;
  assert.equal(manifest[0].weights.map((w: { dtype: string; quantization?: unknown }) => [w.dtype, w.quantization]), Array(4).fill(['float32', undefined]));
  assert.is(model.shards[0]!.bytes.length, 4 * (30 + 5 + 15 + 3));
  await writeLayersModel(join(dir, 'quantized-pruned'), model, file.shards);
  const loaded = await loadLayersModelFile(join(dir, 'quantized-pruned', 'model.json'));
  assert.equal(loaded.outputs[0]!.shape, [null, 3]);
});

test('over 4 MB of weights: shards of exactly 4 MB and a tail, which tf.loadLayersModel reads back', async () => {
  const big = tf.sequential({ layers: [tf.layers.dense({ units: 1000, inputShape: [1100], name: 'wide' })] });
  const source = await saveLayersModelFile(big, join(dir, 'big'));
  big.dispose();
  const file = await readLayersModel(source);
  const artifacts = encodeLayersModel(file);
  assert.equal(artifacts.shards.map((s) => [s.path, s.bytes.length]), [
    ['group1-shard1of2.bin', SHARD_BYTES], ['group1-shard2of2.bin', 4 * (1100 * 1000 + 1000) - SHARD_BYTES],
  ]);
  const written = await writeLayersModel(join(dir, 'big-copy', 'copy.json'), artifacts, [source, ...file.shards]);
  assert.equal(written.map((p) => p.slice(dir.length + 1)), ['big-copy/group1-shard1of2.bin', 'big-copy/group1-shard2of2.bin', 'big-copy/copy.json']);
  const back = weightsByName(await loadLayersModelFile(written[2]!));
  assert.ok(Buffer.from(back.get('wide/kernel')!.buffer).equals(Buffer.from(file.weights[0]!.values.buffer)));
});

test('channels-last convolutions (strides, same padding, dilation) from TensorFlow.js: X W + b reproduces Z', async () => {
  const m = tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', inputShape: [9, 12, 3], name: 'a' }),
      tf.layers.conv2d({ filters: 5, kernelSize: [2, 3], dilationRate: 2, padding: 'valid', name: 'b' }),
      tf.layers.flatten({ name: 'flat' }),
    ],
  });
  const source = await saveLayersModelFile(m, join(dir, 'conv'));
  m.dispose();
  const backend = tfjsBackend(await readLayersModel(source));
  assert.equal(backend.layers.map((l) => [l.name, l.inputSize, l.outputSize, l.activation]), [['a', 27, 4, 'relu'], ['b', 24, 5, 'linear']]);
  const feeds = new Map([['a_input', { data: fill(6 * 9 * 12 * 3, random), shape: [6, 9, 12, 3] }]]);
  const signals = await backend.collectSignals(new Map(), backend.layers, feeds, 6, { batchSize: 4, maxColumns: 50, seed: 2 });
  assert.equal(signals.map((s) => s.columns), [50, 6 * 3 * 2]); // a: 6 x 5 x 6 positions sampled down to 50; b: all 3 x 2 of each
  for (const s of signals) {
    const worst = mismatch(s, backend.weightValues(s.layer.weight), backend.weightValues(s.layer.bias!));
    assert.ok(worst < 1e-5, `${s.layer.name}: |X W + b - Z| up to ${worst}`);
  }
});

test('grouped channels-last convolution: the unfolded programs reproduce a direct convolution', () => {
  const [batch, height, width, channels, groups, outChannels, kh, kw] = [2, 7, 6, 4, 2, 6, 3, 2];
  const layer: ModelLayer = {
    index: 0, name: 'g', op: 'Conv2D', nodes: ['g'], input: 'x', output: 'g', activation: 'linear', weight: 'g/kernel', bias: 'g/bias',
    weightDims: [kh, kw, channels / groups, outChannels], inputSize: kh * kw * (channels / groups), outputSize: outChannels / groups,
    groups, layout: 'nhwc',
    conv: { spatialRank: 2, kernel: [kh, kw], strides: [2, 1], dilations: [1, 2], pads: [0, 0, 0, 0], autoPad: 'SAME_UPPER', group: groups, inChannels: channels, outChannels },
  };
  const x = fill(batch * height * width * channels, random);
  const kernel = fill(kh * kw * (channels / groups) * outChannels, random);
  const bias = fill(outChannels, random);
  // TensorFlow's SAME: out = ceil(size / stride), the extra padding at the end.
  const [outH, outW] = [Math.ceil(height / 2), width];
  const padTop = Math.floor(Math.max(0, (outH - 1) * 2 + kh - height) / 2);
  const padLeft = Math.floor(Math.max(0, (outW - 1) * 1 + (kw - 1) * 2 + 1 - width) / 2);
  const z = new Float32Array(batch * outH * outW * outChannels);
  for (let b = 0; b < batch; b++) for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) for (let o = 0; o < outChannels; o++) {
    const g = Math.floor(o / (outChannels / groups));
    let sum = bias[o]!;
    for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) for (let c = 0; c < channels / groups; c++) {
      const y = oy * 2 - padTop + i;
      const xx = ox - padLeft + 2 * j;
      if (y < 0 || y >= height || xx < 0 || xx >= width) continue;
      sum += x[((b * height + y) * width + xx) * channels + g * (channels / groups) + c]! * kernel[((i * kw + j) * (channels / groups) + c) * outChannels + o]!;
    }
    z[((b * outH + oy) * outW + ox) * outChannels + o] = sum;
  }
  const collector = new Collector(layer, batch, { batchSize: batch, maxColumns: 1000, seed: 1 });
  collector.add({ data: x, dims: [batch, height, width, channels] }, { data: z, dims: [batch, outH, outW, outChannels] }, 0, batch);
  const s = collector.finish();
  assert.is(s.columns, batch * outH * outW);
  assert.ok(mismatch(s, kernel, bias) < 1e-5);
});

/** Largest |X W + b - Z| over the columns and groups of a layer's signals. */
function mismatch(s: LayerSignals, weight: Float32Array, bias: Float32Array): number {
  const { inputSize: n, outputSize: m } = s.layer;
  let worst = 0;
  for (let g = 0; g < s.layer.groups; g++) {
    const p = toProgram(s.layer, g, weight, bias);
    for (let c = 0; c < s.columns; c++) {
      for (let j = 0; j < m; j++) {
        let sum = p.bias![j]!;
        for (let i = 0; i < n; i++) sum += s.inputs[c * s.inputWidth + g * n + i]! * p.weights[i * m + j]!;
        worst = Math.max(worst, Math.abs(sum - s.outputs[c * s.outputWidth + g * m + j]!));
      }
    }
  }
  return worst;
}

// Broken model directories: each a copy of the quantized model with one thing wrong.
function broken(name: string, change: (folder: string) => void): string {
  const { path } = quantizedModel(join(dir, name));
  change(join(dir, name));
  return path;
}

const BAD: Array<[string, () => string, RegExp]> = [
  ['a missing shard', () => broken('no-shard', (f) => rmSync(join(f, 'group1-shard1of1.bin'))),
    /weight shard 'group1-shard1of1.bin' \(weightsManifest group 1\) cannot be read: the file is missing/],
  ['a truncated shard', () => broken('short-shard', (f) => writeFileSync(join(f, 'group1-shard1of1.bin'), readFileSync(join(f, 'group1-shard1of1.bin')).subarray(0, 70))),
    /weightsManifest group 1 \(4 weights\) needs 82 bytes, its shards hold 70 \(group1-shard1of1.bin 70 bytes\)/],
  ['a shard too long', () => broken('long-shard', (f) => writeFileSync(join(f, 'group1-shard1of1.bin'), new Uint8Array(86))),
    /needs 82 bytes, its shards hold 86/],
  ['a truncated model.json', () => broken('cut-json', (f) => writeFileSync(join(f, 'model.json'), readFileSync(join(f, 'model.json'), 'utf8').slice(0, 300))),
    /model.json: not valid JSON, perhaps truncated \(300 characters\)/],
  ['an empty model.json', () => broken('empty-json', (f) => writeFileSync(join(f, 'model.json'), '')), /model.json: the file is empty/],
  ['a graph model', () => broken('graph', (f) => writeFileSync(join(f, 'model.json'), JSON.stringify({ format: 'graph-model', modelTopology: {} }))),
    /a TensorFlow.js graph model; nettrim prunes Layers models/],
  ['no weightsManifest', () => broken('no-manifest', (f) => edit(f, (j) => delete j.weightsManifest)), /no weightsManifest/],
  ['an unknown quantization', () => broken('int4', (f) => edit(f, (j) => (j.weightsManifest[0].weights[0].quantization.dtype = 'int4'))),
    /weight 'd1\/kernel' has quantization dtype "int4"; known: uint8, uint16, float16/],
  ['uint8 without scale', () => broken('no-scale', (f) => edit(f, (j) => delete j.weightsManifest[0].weights[0].quantization.scale)),
    /weight 'd1\/kernel': uint8 quantization needs finite 'scale' and 'min'/],
  ['a string weight', () => broken('string', (f) => edit(f, (j) => (j.weightsManifest[0].weights[3].dtype = 'string'))),
    /weight 'd2\/bias' has dtype "string"/],
];

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function edit(folder: string, change: (json: any) => void): void {
  const json = JSON.parse(readFileSync(join(folder, 'model.json'), 'utf8'));
  change(json);
  writeFileSync(join(folder, 'model.json'), JSON.stringify(json));
}

for (const [what, make, message] of BAD) {
  test(`bad model, ${what}: an InputError naming the problem; the command exits 1 and writes nothing`, async () => {
    const path = make();
    try {
      await readLayersModel(path);
      assert.unreachable('read a broken model');
    } catch (err) {
      assert.instance(err, InputError);
      assert.match((err as Error).message, message);
      assert.ok((err as Error).message.includes(path), 'the message names the file');
    }
    const out = join(dir, `out-${what.replaceAll(' ', '-')}`);
    const r = await prune([path, '--calib', calibration(), '--out', out, '--report', `${out}.json`, '--no-progress']);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, message);
    assert.not.ok(existsSync(out) || existsSync(`${out}.json`), 'something was written');
  });
}

test('the command on a Layers model: table, model.json and shards in --out, the report, the baseline', async () => {
  const { path } = quantizedModel(join(dir, 'cli'));
  const out = join(dir, 'cli-out');
  const r = await prune([path, '--calib', calibration(), '--out', out, '--magnitude-out', join(dir, 'cli-mag', 'model.json'), '--report', join(dir, 'cli.json'), '--no-progress']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /d1 .*Dense/);
  assert.match(r.stdout, new RegExp(`wrote ${join(out, 'model.json')}`));
  const report = JSON.parse(readFileSync(join(dir, 'cli.json'), 'utf8'));
  assert.is(report.output, join(out, 'model.json'));
  assert.equal(report.layers.map((l: { op: string }) => l.op), ['Dense', 'Dense']);
  for (const folder of [out, join(dir, 'cli-mag')]) {
    const loaded = await loadLayersModelFile(join(folder, 'model.json'));
    assert.equal(loaded.outputs[0]!.shape, [null, 3]);
  }
  const over = await prune([path, '--calib', calibration(), '--out', join(dir, 'cli'), '--no-progress']);
  assert.is(over.code, 1);
  assert.match(over.stderr, /refusing to write .*cli\/(model.json|group1-shard1of1.bin): it is the same file as the input/);
});

function calibration(): string {
  const file = join(dir, 'calib.npy');
  if (!existsSync(file)) writeFileSync(file, encodeNpy(fill(60 * 6, random), [60, 6]));
  return file;
}


test.run();

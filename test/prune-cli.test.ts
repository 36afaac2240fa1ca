// The `nettrim prune` command: a full run writes a model that onnxruntime loads and the report the
// issue specifies; every bad input gives a message naming the problem, exit code 1, no file written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeNpy } from '../src/io/npy.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { mulberry32 } from '../src/onnx/sampling.ts';
import { prune } from './helpers/cli.ts';

const random = mulberry32(99);
const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const values = (n: number, scale = 1): number[] => Array.from({ length: n }, () => scale * gaussian());

const dir = mkdtempSync(join(tmpdir(), 'nettrim-prune-cli-'));
const path = (name: string): string => join(dir, name);

function setup(): void {
  const model = new GraphBuilder('mlp')
    .input('x', ['N', 16])
    .initializer('W1', [16, 12], values(192, 0.3)).initializer('b1', [12], values(12, 0.1))
    .node('Gemm', ['x', 'W1', 'b1'], ['h'], {}, 'fc1').node('Relu', ['h'], ['a'])
    .initializer('W2', [12, 4], values(48, 0.5)).initializer('b2', [4], values(4, 0.1))
    .node('Gemm', ['a', 'W2', 'b2'], ['y'], {}, 'fc2')
    .output('y', ['N', 4])
    .toBytes();
  writeFileSync(path('model.onnx'), model);
  writeFileSync(path('calib.npy'), encodeNpy(Float32Array.from(values(200 * 16)), [200, 16]));
  writeFileSync(path('eval.npy'), encodeNpy(Float32Array.from(values(50 * 16)), [50, 16]));
  writeFileSync(path('labels.npy'), encodeNpy(Float32Array.from({ length: 50 }, (_, i) => i % 4), [50]));
  writeFileSync(path('labels-short.npy'), encodeNpy(new Float32Array(49), [49]));
  writeFileSync(path('calib-shape.npy'), encodeNpy(new Float32Array(200 * 15), [200, 15]));
  const nan = Float32Array.from(values(20 * 16));
  nan[5 * 16 + 2] = NaN;
  writeFileSync(path('calib-nan.npy'), encodeNpy(nan, [20, 16]));
  writeFileSync(path('calib-f64.npy'), float64Npy(Float64Array.from(values(20 * 16)), [20, 16]));
  writeFileSync(path('text.onnx'), 'this is not a model\n');
  writeFileSync(path('truncated.onnx'), model.subarray(0, Math.floor(model.length * 0.6)));
  const twoInputs = new GraphBuilder('two')
    .input('left', ['N', 6]).input('right', ['N', 10])
    .node('Concat', ['left', 'right'], ['both'], { axis: 1 }, 'concat')
    .initializer('W', [16, 5], values(80, 0.4)).initializer('b', [5], values(5, 0.1))
    .node('Gemm', ['both', 'W', 'b'], ['y'], {}, 'fc')
    .output('y', ['N', 5])
    .toBytes();
  writeFileSync(path('two-inputs.onnx'), twoInputs);
  writeFileSync(path('left.npy'), encodeNpy(Float32Array.from(values(100 * 6)), [100, 6]));
  writeFileSync(path('right.npy'), encodeNpy(Float32Array.from(values(100 * 10)), [100, 10]));
  writeFileSync(path('relu-only.onnx'), new GraphBuilder().input('x', ['N', 16]).node('Relu', ['x'], ['y']).output('y').toBytes());
}

/** A '<f8' .npy: the float32 encoder's header with the dtype swapped (same length), float64 data. */
function float64Npy(data: Float64Array, shape: number[]): Uint8Array {
  const f4 = encodeNpy(new Float32Array(data.length), shape);
  const headerEnd = f4.length - 4 * data.length;
  const header = Buffer.from(f4.subarray(0, headerEnd)).toString('latin1').replace("'<f4'", "'<f8'");
  return new Uint8Array([...Buffer.from(header, 'latin1'), ...new Uint8Array(data.buffer)]);
}


setup();
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('a full run: table on stdout, the pruned model loads and runs, the report has the specified keys', async () => {
  const r = await prune([
    path('model.onnx'), '--calib', path('calib.npy'), '--out', path('out.onnx'), '--report', path('report.json'),
    '--eval', path('eval.npy'), '--labels', path('labels.npy'), '--magnitude-out', path('magnitude.onnx'), '--no-progress',
  ]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /fc1/);
  assert.match(r.stdout, /total/);
  assert.match(r.stdout, /top-1 accuracy on 50 samples/);
  const session = await ort.InferenceSession.create(readFileSync(path('out.onnx')));
  const y = await session.run({ x: new ort.Tensor('float32', Float32Array.from(values(3 * 16)), [3, 16]) });
  assert.equal(y.y!.dims, [3, 4]);
  await ort.InferenceSession.create(readFileSync(path('magnitude.onnx')));
  const report = JSON.parse(readFileSync(path('report.json'), 'utf8'));
  const layerKeys = ['name', 'op', 'inputs', 'outputs', 'samples', 'weights', 'nnzBefore', 'nnzAfter', 'epsilon', 'relativeError', 'status', 'iterations', 'seconds'];
  assert.is(report.layers.length, 2);
  for (const layer of report.layers) for (const key of layerKeys) assert.ok(key in layer, `layers[].${key} missing`);
  for (const key of ['weights', 'nnzBefore', 'nnzAfter', 'seconds']) assert.type(report.total[key], 'number');
  for (const key of ['accuracyBefore', 'accuracyAfter', 'accuracyMagnitude', 'samples']) assert.type(report.eval[key], 'number');
  assert.type(report.maxOutputChange, 'number');
  assert.is(report.total.weights, 192 + 48);
  assert.is(report.output, path('out.onnx'));
  assert.ok(report.threads.total >= 1 && report.threads.lanes >= 1 && report.threads.lanes <= report.threads.total);
});

test('--threads 1 gives the same pruned model as the default threads, and says so', async () => {
  const one = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--out', path('one.onnx'), '--threads', '1', '--no-progress']);
  assert.is(one.code, 0, one.stderr);
  assert.match(one.stdout, /solved on 1 thread\n/);
  const many = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--out', path('many.onnx'), '--threads', '2', '--no-progress']);
  assert.is(many.code, 0, many.stderr);
  assert.match(many.stdout, /solved on 2 threads/);
  assert.equal(readFileSync(path('one.onnx')), readFileSync(path('many.onnx')));
});

test('nettrim prune through src/cli/main.ts: exit code 0, the default output beside the model', () => {
  const r = spawnSync(process.execPath, [
    '--import', 'tsx', 'src/cli/main.ts', 'prune', path('model.onnx'), '--calib', path('calib.npy'), '--sparsity', '0.5',
  ], { encoding: 'utf8' });
  assert.is(r.status, 0, r.stderr);
  assert.ok(readdirSync(dir).includes('model.pruned.onnx'));
  assert.match(r.stdout, /sparsity search: target 50.0%/);
});

test('--sparsity with --allocation sensitivity and --refit: per-layer epsilons from measured output changes, the refit applied', async () => {
  const r = await prune([
    path('model.onnx'), '--calib', path('calib.npy'), '--sparsity', '0.6', '--refit', '--out', path('alloc.onnx'),
    '--report', path('alloc.json'), '--no-progress',
  ]);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(path('alloc.json'), 'utf8'));
  assert.is(report.refit, true);
  assert.is(report.refitBounds, 'soft'); // the default, recorded
  assert.ok(report.layers.every((l: { refit: unknown }) => l.refit !== null));
  const allocation = report.search.allocation;
  assert.equal(allocation.layers.map((l: { name: string }) => l.name), ['fc1', 'fc2']);
  assert.ok(allocation.layers.every((l: { nnz: number; outputChange: number }) => l.nnz > 0 && l.outputChange >= 0));
  assert.ok(Math.abs(report.total.removedFraction - 0.6) <= 0.01, `removed ${report.total.removedFraction}`);
  assert.match(r.stdout, /allocation by sensitivity: fc1 eps/);
  const uniform = await prune([
    path('model.onnx'), '--calib', path('calib.npy'), '--sparsity', '0.6', '--allocation', 'uniform', '--out', path('uniform.onnx'),
    '--report', path('uniform.json'), '--no-progress',
  ]);
  assert.is(uniform.code, 0, uniform.stderr);
  assert.is(JSON.parse(readFileSync(path('uniform.json'), 'utf8')).search.allocation, undefined);
});

test('several inputs: --calib NAME=FILE.npy per input', async () => {
  const r = await prune([
    path('two-inputs.onnx'), '--calib', `right=${path('right.npy')}`, '--calib', `left=${path('left.npy')}`,
    '--out', path('two-inputs.pruned.onnx'), '--no-progress',
  ]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /fc/);
  const session = await ort.InferenceSession.create(readFileSync(path('two-inputs.pruned.onnx')));
  const y = await session.run({
    left: new ort.Tensor('float32', new Float32Array(12), [2, 6]), right: new ort.Tensor('float32', new Float32Array(20), [2, 10]),
  });
  assert.equal(y.y!.dims, [2, 5]);
  const missing = await prune([path('two-inputs.onnx'), '--calib', `left=${path('left.npy')}`, '--out', path('never.onnx'), '--no-progress']);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /no calibration data for the model input 'right'/);
  const unnamed = await prune([path('two-inputs.onnx'), '--calib', path('left.npy'), '--out', path('never.onnx'), '--no-progress']);
  assert.is(unnamed.code, 1);
  assert.match(unnamed.stderr, /the model has inputs left, right; write NAME=FILE.npy for each/);
  assert.not.ok(readdirSync(dir).includes('never.onnx'));
});

test('Ctrl-C during a prune: the run stops, exit code 130, nothing written', async () => {
  // the mnist MLP with a sparsity search runs for many seconds; SIGINT goes at the first progress line
  const out = path('interrupted.onnx');
  const child = spawn(process.execPath, [
    '--import', 'tsx', 'src/cli/main.ts', 'prune', 'examples/models/mnist-mlp.onnx',
    '--calib', 'examples/data/mnist-calib-x.npy', '--sparsity', '0.9', '--out', out,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const started = performance.now();
  let sentAt = 0;
  child.stderr.on('data', (d) => {
    stderr += d;
    if (!sentAt) { sentAt = performance.now(); child.kill('SIGINT'); }
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.is(code, 130, stderr);
  assert.match(stderr, /interrupted, stopping/);
  assert.match(stderr, /nettrim prune: interrupted: nothing written/);
  assert.not.ok(readdirSync(dir).includes('interrupted.onnx'));
  assert.ok(sentAt > started);
});

const BAD: Array<[string, string[], RegExp]> = [
  ['not an ONNX file', [path('text.onnx'), '--calib', path('calib.npy')], /text.onnx: not an ONNX model/],
  ['a truncated model', [path('truncated.onnx'), '--calib', path('calib.npy')], /truncated.onnx: .*truncated/],
  ['no prunable layer', [path('relu-only.onnx'), '--calib', path('calib.npy')], /no prunable layer/],
  ['calibration of the wrong shape', [path('model.onnx'), '--calib', path('calib-shape.npy')], /calib-shape.npy: shape \[200, 15\] does not match the model input 'x' \[\?, 16\]/],
  ['float64 calibration', [path('model.onnx'), '--calib', path('calib-f64.npy')], /calib-f64.npy: dtype <f8 does not match the model input 'x' \(float32\)/],
  ['NaN in calibration', [path('model.onnx'), '--calib', path('calib-nan.npy')], /calib-nan.npy: value NaN at flat index 82 \(sample 5\)/],
  ['labels of the wrong length', [path('model.onnx'), '--calib', path('calib.npy'), '--eval', path('eval.npy'), '--labels', path('labels-short.npy')], /labels-short.npy: 49 labels for 50 evaluation samples/],
  ['a missing calibration file', [path('model.onnx'), '--calib', path('nope.npy')], /nope.npy/],
  ['--out over the model', [path('model.onnx'), '--calib', path('calib.npy'), '--out', path('model.onnx')], /refusing to write .*model.onnx: it is the same file as the input/],
  ['--epsilon and --sparsity together', [path('model.onnx'), '--calib', path('calib.npy'), '--epsilon', '0.1', '--sparsity', '0.5'], /--epsilon or --sparsity, not both/],
  ['--threads 0', [path('model.onnx'), '--calib', path('calib.npy'), '--threads', '0'], /threads must be an integer >= 1, got 0/],
  ['--refit-bounds loose', [path('model.onnx'), '--calib', path('calib.npy'), '--refit-bounds', 'loose'], /--refit-bounds.*loose.*(soft|choices)/],
  ['an unknown calibration input name', [path('model.onnx'), '--calib', `image=${path('calib.npy')}`], /image=.*(no such|cannot|ENOENT|not)/i],
];

for (const [what, args, message] of BAD) {
  test(`bad input, ${what}: message, exit code 1, nothing written`, async () => {
    const before = readdirSync(dir).sort();
    const out = args.includes('--out') ? [] : ['--out', path('bad-out.onnx')];
    const r = await prune([...args, ...out, '--report', path('bad-report.json'), '--no-progress']);
    assert.is(r.code, 1, `exit code for ${what}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.equal(readdirSync(dir).sort(), before);
  });
}

test.run();

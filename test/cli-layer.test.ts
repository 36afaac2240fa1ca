// The `nettrim layer` command end to end, as a user runs it: files in, W.npy and JSON out, and bad
// input refused with a message, a non-zero exit and nothing written.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, parseNpy } from '../src/io/npy.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';

const CLI = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nettrim-cli-'));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], (err, stdout, stderr) => {
      resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr });
    });
  });
}

// A ReLU layer with 12 inputs and 5 outputs, 300 samples, from a sparse teacher.
const [P, N, M] = [300, 12, 5];
const rand = seededRandom(4), draw = gaussian(rand);
const X = fill(P * N, draw), W0 = fill(N * M, () => (rand() < 0.3 ? draw() : 0));
const Y = new Float32Array(P * M);
for (let p = 0; p < P; p++) for (let j = 0; j < M; j++) {
  let v = 0;
  for (let i = 0; i < N; i++) v += X[p * N + i] * W0[i * M + j];
  Y[p * M + j] = Math.max(0, v);
}
const Z = new Float32Array(P * M); // the same layer without its ReLU, for --activation linear
for (let p = 0; p < P; p++) for (let j = 0; j < M; j++) {
  for (let i = 0; i < N; i++) Z[p * M + j] += X[p * N + i] * W0[i * M + j];
}
const xPath = join(dir, 'x.npy'), yPath = join(dir, 'y.npy'), zPath = join(dir, 'z.npy');
writeFileSync(xPath, encodeNpy(X, [P, N]));
writeFileSync(yPath, encodeNpy(Y, [P, M]));
writeFileSync(zPath, encodeNpy(Z, [P, M]));

test('--json prints the record and --out writes (N+1) x M float32 with the bias last', async () => {
  const out = join(dir, 'w.npy');
  const r = await run(['layer', xPath, yPath, '--epsilon', '0.1', '--out', out, '--json']);
  assert.is(r.code, 0, r.stderr);
  const rec = JSON.parse(r.stdout);
  for (const key of ['nnz', 'weights', 'l1', 'relativeError', 'maxInactive', 'iterations', 'status', 'seconds']) {
    assert.ok(key in rec, `missing ${key}`);
  }
  assert.is(rec.weights, N * M);
  assert.is(rec.status, 'solved');
  assert.ok(rec.relativeError <= 0.1 * (1 + 1e-3), `error ${rec.relativeError}`);
  const w = parseNpy(readFileSync(out), out);
  assert.equal(w.shape, [N + 1, M]);
  let nnz = 0;
  for (let i = 0; i < N * M; i++) if (w.data[i] !== 0) nnz++;
  assert.is(nnz, rec.nnz);
});

test('--no-bias writes N x M; --activation linear is accepted', async () => {
  const out = join(dir, 'w-nobias.npy');
  const r = await run(['layer', xPath, zPath, '--no-bias', '--activation', 'linear', '--out', out]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /kept \d+ of 60 weights/);
  assert.equal(parseNpy(readFileSync(out), out).shape, [N, M]);
});

test('a truncated .npy is refused by name and nothing is written', async () => {
  const bad = join(dir, 'short.npy'), out = join(dir, 'never.npy');
  writeFileSync(bad, encodeNpy(X, [P, N]).subarray(0, 500));
  const r = await run(['layer', bad, yPath, '--out', out]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /short\.npy: truncated data/);
  assert.not.ok(existsSync(out));
  assert.not.ok(readdirSync(dir).some((f) => f.endsWith('.tmp')), 'a temporary file was left');
});

test('samples that disagree, a 1-D array, a bad flag value', async () => {
  const few = join(dir, 'few.npy');
  writeFileSync(few, encodeNpy(Y.subarray(0, 10 * M), [10, M]));
  let r = await run(['layer', xPath, few]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /has 300 samples \(rows\) but .*few\.npy has 10/);
  const flat = join(dir, 'flat.npy');
  writeFileSync(flat, encodeNpy(X, [P * N]));
  r = await run(['layer', flat, yPath]);
  assert.match(r.stderr, /flat\.npy: expected a 2-D array \(samples x features\), got shape \(3600\)/);
  r = await run(['layer', xPath, yPath, '--epsilon', '-1']);
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /expected a number >= 0, got '-1'/);
});

test('--out naming an input is refused and the input is untouched', async () => {
  const before = readFileSync(yPath);
  const r = await run(['layer', xPath, yPath, '--out', yPath]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /same file as the input/);
  assert.ok(readFileSync(yPath).equals(before));
});

test.run();

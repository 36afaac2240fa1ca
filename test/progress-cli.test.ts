// Progress of `nettrim prune` when stderr is a file or a pipe (issue 9): a line per stage change
// and a status line (stage, layer, iteration, residuals, elapsed) at least every --progress-every
// seconds, so a long solve shows it is alive; --no-progress keeps only the status lines, --quiet
// prints nothing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, parseNpy } from '../src/io/npy.ts';
import { prune } from './helpers/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'nettrim-progress-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

// the mnist MLP on 500 digits runs for a few seconds: long enough for status lines every 0.5 s
const digits = parseNpy(readFileSync('examples/data/mnist-calib-x.npy'), 'mnist-calib-x.npy');
const calib = join(dir, 'calib.npy');
writeFileSync(calib, encodeNpy(digits.data.subarray(0, 500 * 784), [500, ...digits.shape.slice(1)]));
const RUN = ['examples/models/mnist-mlp.onnx', '--calib', calib, '--threads', '2', '--max-iterations', '40'];
const STATUS = /^solve \d+\/3: \S+, it \d+, res\/tol \S+ \S+ \(elapsed \d+ s\)$/m;

test('stderr piped: stage lines and status lines with layer, iteration, residuals and elapsed time', async () => {
  const child = spawn(process.execPath, [
    '--import', 'tsx', 'src/cli/main.ts', 'prune', ...RUN, '--out', join(dir, 'piped.onnx'), '--progress-every', '0.5',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.is(code, 0, stderr);
  assert.match(stderr, /^signals: trained network$/m);
  assert.match(stderr, /^solve: \S+$/m);
  assert.match(stderr, /^refit: fc1$/m); // the layer-by-layer refit says which layer it is on
  assert.match(stderr, STATUS);
  assert.not.match(stderr, /\u001b\[/); // no terminal control sequences in a log
});

test('--no-progress: no stage lines, still a status line while a solve runs; --quiet: nothing', async () => {
  const quietless = await prune([...RUN, '--out', join(dir, 'plain.onnx'), '--no-progress', '--progress-every', '0.5']);
  assert.is(quietless.code, 0, quietless.stderr);
  assert.match(quietless.stderr, STATUS);
  assert.not.match(quietless.stderr, /^signals: /m);
  const quiet = await prune([...RUN, '--out', join(dir, 'quiet.onnx'), '--quiet', '--progress-every', '0.5']);
  assert.is(quiet.code, 0, quiet.stderr);
  assert.is(quiet.stderr, '');
});

test('--progress-every must be a number', async () => {
  const r = await prune([...RUN, '--out', join(dir, 'never.onnx'), '--progress-every', 'often']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /--progress-every expects a number/);
});

test.run();

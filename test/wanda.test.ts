// The Wanda baseline (src/prune/wanda.ts): scores |W_ij| ||X_i||, kept per output, at Net-Trim's counts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LayerSignals } from '../src/prune/backend.ts';
import type { ModelLayer } from '../src/graph/layer.ts';
import { inputNorms, keepPerOutput, rankInputs, shareCount, wandaScores } from '../src/prune/wanda.ts';

test('scores are |W| times the input norm; each output keeps its best, not the layer\'s best', () => {
  // 3 inputs x 2 outputs, input norms 1, 8, 0.125: input 2 has the largest weights and the smallest scores
  const w = Float32Array.from([
    5, -4, // input 0
    0.625, 0.25, // input 1
    -9, 8, // input 2
  ]);
  const scores = wandaScores(w, Float64Array.from([1, 8, 0.125]), 3, 2);
  assert.equal(Array.from(scores), [5, 4, 5, 2, 1.125, 1]);
  const ranks = rankInputs(scores, 3, 2);
  // one weight per output: output 0 ties inputs 0 and 1 at 5 (the lower input stays), output 1 keeps input 0
  assert.equal(Array.from(keepPerOutput(w, ranks, [1, 1], 2)), [5, -4, 0, 0, 0, 0]);
  // two per output: inputs 0 and 1 in both; input 2 goes although magnitude pruning would keep it first
  assert.equal(Array.from(keepPerOutput(w, ranks, [2, 2], 2)), [5, -4, 0.625, 0.25, 0, 0]);
  assert.equal(Array.from(keepPerOutput(w, ranks, [0, 3], 2)), [0, -4, 0, 0.25, 0, 8]);
});

test('the layer count is shared evenly, the remainder to the outputs with the best next score', () => {
  const ranks = [rankInputs(Float64Array.from([
    9, 8, 7,
    6, 1, 5,
    2, 0.5, 4,
  ]), 3, 3)]; // 3 inputs x 3 outputs; each column's second-best: 6, 1, 5
  assert.equal(shareCount(3, ranks, 3), [1, 1, 1]);
  assert.equal(shareCount(5, ranks, 3), [2, 1, 2]);
  assert.equal(shareCount(4, ranks, 3), [2, 1, 1]);
  assert.equal(shareCount(9, ranks, 3), [3, 3, 3]);
  assert.equal(shareCount(0, ranks, 3), [0, 0, 0]);
  // two groups of 1 input x 2 outputs, numbered group-major: 3 weights go to the 3 best of 1, 2, 3, 4
  assert.equal(shareCount(3, [rankInputs(Float64Array.from([1, 2]), 1, 2), rankInputs(Float64Array.from([3, 4]), 1, 2)], 1), [0, 1, 1, 1]);
});

test('input norms over the columns, per group', () => {
  const layer = { inputSize: 2 } as unknown as ModelLayer;
  // 2 columns, 2 groups of 2 inputs: row width 4
  const s = { layer, columns: 2, inputWidth: 4, inputs: Float32Array.from([3, 0, 1, 2, 4, 1, 1, 2]) } as unknown as LayerSignals;
  assert.equal(Array.from(inputNorms(s, 0, 2)), [5, 1]);
  assert.equal(Array.from(inputNorms(s, 1, 2)), [Math.SQRT2, Math.sqrt(8)]);
});

test.run();

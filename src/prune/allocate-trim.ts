// Trimmed supports for the sensitivity allocation (allocate.ts): a second candidate for each layer at
// each gain of the path, next to Net-Trim's own solution there.
//
// At a large gain (0.75 to 0.97, where 70% removal puts the big layers) Net-Trim's l1 solution is
// shrunk nearly to zero, and which weights survive says little about which ones fit best: on the
// ResNet-style example, block2_2_conv at g 0.9 keeps 386 weights whose refit still changes the
// model's outputs by D = 0.28 alone. Walking down the path instead, each step starts from the refit
// choice of the step before (a denser support whose values already fit the trained outputs) and keeps
// in every output as many weights as Net-Trim's solution at this gain keeps there (its per-output
// counts), the largest |w_ij| ||X_i|| (Wanda's score, on the refit weights); the refit then fits
// them again. Same count, D = 0.042 for that layer. The allocation keeps, at each gain, whichever of
// the two candidates changes the outputs less, and the next step starts from it.
import type { LayerSignals } from './backend.ts';
import type { LayerSolution } from './programs.ts';
import { inputNorms } from './wanda.ts';

/**
 * `denser` (a refit choice, in program form) cut to the per-output counts of `sparser` (Net-Trim's
 * solution of the same layer at a larger gain), keeping each output's largest |w_ij| ||X_i||.
 * Bias rows stay (biases are not counted in the sparsity). Marks the result as trimmed.
 */
export function trimTo(denser: LayerSolution, sparser: LayerSolution, signals: LayerSignals, gain: number): LayerSolution {
  return trimToCounts(denser, outputCounts(sparser), signals, gain);
}

/**
 * `denser` cut to about `fraction` of its own per-output counts (each output that keeps any keeps at
 * least one): the path continued past its sparsest gain, where Net-Trim's program keeps more than a
 * target allows (the ReLU6 programs' saturated outputs need many weights at any gain).
 */
export function trimBy(denser: LayerSolution, fraction: number, signals: LayerSignals, gain: number): LayerSolution {
  return trimToCounts(denser, outputCounts(denser).map((c) => c.map((k) => (k > 0 ? Math.max(1, Math.floor(fraction * k)) : 0))), signals, gain);
}

/** Per group, each output's nonzero count over the program's weight rows (the bias row left out). */
function outputCounts(s: LayerSolution): number[][] {
  const { inputSize: n, outputSize: m } = s.layer;
  return s.programs.map((full) => Array.from({ length: m }, (_, j) => {
    let k = 0;
    for (let i = 0; i < n; i++) if (full[i * m + j] !== 0) k++;
    return k;
  }));
}

function trimToCounts(denser: LayerSolution, counts: number[][], signals: LayerSignals, gain: number): LayerSolution {
  const { inputSize: n, outputSize: m } = denser.layer;
  const programs = denser.programs.map((full, group) => {
    const norms = inputNorms(signals, group, n);
    const out = full.slice();
    for (let j = 0; j < m; j++) {
      const score = (i: number) => Math.abs(full[i * m + j]!) * norms[i]!;
      const kept = [];
      for (let i = 0; i < n; i++) if (full[i * m + j] !== 0) kept.push(i);
      kept.sort((a, b) => score(b) - score(a) || a - b);
      for (const i of kept.slice(counts[group]![j]!)) out[i * m + j] = 0;
    }
    return out;
  });
  return { ...denser, programs, refit: null, trimmedAt: gain };
}

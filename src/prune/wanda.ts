// A second baseline, the popular post-training pruner Wanda (Sun, Liu, Bair, Kolter, "A Simple and
// Effective Pruning Approach for Large Language Models", 2023): weight i -> j scores
// |W_ij| * ||X_i||_2, input i's norm over the calibration columns, and the scores are compared within
// each output; biases stay as trained, no retraining. Here each layer keeps as many weights as
// Net-Trim kept there, shared evenly among its outputs (the remainder going to the outputs whose
// next score is largest), so the two differ only in which weights they keep.
import type { LayerSignals, ModelBackend, WeightValues } from './backend.ts';
import { baselineValues, type LayerSolution } from './programs.ts';

/** Every pruned layer's weights Wanda-pruned to the nonzero count of its Net-Trim solution. */
export function wandaValues(backend: ModelBackend, solved: readonly LayerSolution[], trained: readonly LayerSignals[]): WeightValues {
  return baselineValues(backend, solved, trained, (programs, signals, keep) => {
    const { inputSize: n, outputSize: m } = signals.layer;
    // each output's inputs ranked once, for both the shares and the cut
    const ranks = programs.map((w, g) => rankInputs(wandaScores(w, inputNorms(signals, g, n), n, m), n, m));
    const counts = shareCount(keep, ranks, n);
    return programs.map((w, g) => keepPerOutput(w, ranks[g]!, counts.slice(g * m, (g + 1) * m), m));
  });
}

/** ||X_i||_2 over the columns of the signals, for the n inputs of group g. */
export function inputNorms(s: LayerSignals, group: number, n: number): Float64Array {
  const norms = new Float64Array(n);
  for (let c = 0; c < s.columns; c++) {
    const row = c * s.inputWidth + group * n;
    for (let i = 0; i < n; i++) norms[i]! += s.inputs[row + i]! ** 2;
  }
  return norms.map(Math.sqrt);
}

/** |W_ij| * ||X_i|| for an N x M program weight matrix. */
export function wandaScores(w: Float32Array, norms: Float64Array, n: number, m: number): Float64Array {
  const scores = new Float64Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) scores[i * m + j] = Math.abs(w[i * m + j]!) * norms[i]!;
  return scores;
}

/** An input of one output with its score. */
export interface RankedInput {
  i: number;
  score: number;
}

/** For each of the m outputs, its n inputs best score first (ties: the lower input first). */
export function rankInputs(scores: Float64Array, n: number, m: number): RankedInput[][] {
  return Array.from({ length: m }, (_, j) =>
    Array.from({ length: n }, (_, i) => ({ i, score: scores[i * m + j]! })).sort((a, b) => b.score - a.score || a.i - b.i));
}

/**
 * How many weights each output (group-major: g * m + j, `ranks` per group as rankInputs gives them)
 * keeps so that they add up to `total`: the same share each, and one more for the outputs whose
 * best score beyond the share is largest.
 */
export function shareCount(total: number, ranks: readonly RankedInput[][][], n: number): number[] {
  const perOutput = ranks.flat();
  const outputs = perOutput.length;
  const base = Math.min(n, Math.floor(total / outputs));
  const keep = new Array<number>(outputs).fill(base);
  let extra = total - base * outputs;
  if (extra <= 0 || base >= n) return keep;
  const next = perOutput.map((ranked, o) => ({ o, score: ranked[base]!.score }));
  next.sort((a, b) => b.score - a.score || a.o - b.o);
  for (const { o } of next) {
    if (extra-- <= 0) break;
    keep[o]! += 1;
  }
  return keep;
}

/** W (n x m) with, in each output j, only its keep[j] best-ranked weights left. */
export function keepPerOutput(w: Float32Array, ranks: readonly RankedInput[][], keep: readonly number[], m: number): Float32Array {
  const out = new Float32Array(w.length);
  ranks.forEach((ranked, j) => {
    for (const { i } of ranked.slice(0, keep[j]!)) out[i * m + j] = w[i * m + j]!;
  });
  return out;
}

// A third baseline, SparseGPT (Frantar, Alistarh, "SparseGPT: Massive Language Models Can Be
// Accurately Pruned in One-Shot", 2023): like Net-Trim it changes the weights it keeps, by the
// optimal-brain-surgeon update on H = 2 X X^T, column block by column block. This follows the
// authors' reference algorithm (unstructured sparsity, blocks of 128 inputs, dampening 1% of the
// mean diagonal, the mask chosen per block by w^2 / [H^-1]_ii^2), in float64 with ml-matrix for the
// Cholesky factor, with one change for a fair comparison: each block removes its
// exact share of the layer's count, so the layer keeps as many weights as Net-Trim kept there.
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import type { LayerSignals, ModelBackend, WeightValues } from './backend.ts';
import { baselineValues, type LayerSolution } from './programs.ts';

const BLOCK = 128;
const DAMPENING = 0.01;

/** Every pruned layer's weights SparseGPT-pruned to the nonzero count of its Net-Trim solution (biases as trained). */
export function sparseGptValues(backend: ModelBackend, solved: readonly LayerSolution[], trained: readonly LayerSignals[]): WeightValues {
  return baselineValues(backend, solved, trained, (programs, signals, keep) => {
    const { inputSize: n, outputSize: m, groups } = signals.layer;
    return programs.map((w, g) => {
      // the layer's count shared among its groups (equal sizes), the remainder to the first ones
      const share = Math.floor(keep / groups) + (g < keep % groups ? 1 : 0);
      return pruneWithFactor(w, factorOf(signals, g, n), n, m, n * m - share);
    });
  });
}

/** H^-1's factor depends on the signals only: the report's per-try accuracy reuses it for every try. */
const factors = new WeakMap<LayerSignals, Map<number, HessianFactor>>();

function factorOf(signals: LayerSignals, group: number, n: number): HessianFactor {
  const byGroup = factors.get(signals) ?? new Map<number, HessianFactor>();
  factors.set(signals, byGroup);
  let factor = byGroup.get(group);
  if (!factor) byGroup.set(group, factor = hessianFactor(gram(signals, group, n), n));
  return factor;
}

interface HessianFactor {
  /** Upper Cholesky factor of the dampened H^-1, n x n. */
  hinv: Float64Array;
  /** Inputs that are zero in every column (their weights are removed first). */
  dead: Uint8Array;
}

/** H = 2 X^T X (n x n, float64) over the signal columns of group g. */
export function gram(s: LayerSignals, group: number, n: number): Float64Array {
  const h = new Float64Array(n * n);
  const x = new Float64Array(n);
  for (let c = 0; c < s.columns; c++) {
    const row = c * s.inputWidth + group * n;
    for (let i = 0; i < n; i++) x[i] = s.inputs[row + i]!;
    for (let i = 0; i < n; i++) {
      const xi = 2 * x[i]!;
      if (xi === 0) continue;
      for (let j = 0; j < n; j++) h[i * n + j]! += xi * x[j]!;
    }
  }
  return h;
}

/**
 * SparseGPT on the program weights w (n inputs x m outputs, row-major: the transpose of the
 * authors' W) with Hessian h (n x n, modified in place); removes exactly `remove` weights.
 */
export function sparseGpt(w: Float32Array, h: Float64Array, n: number, m: number, remove: number): Float32Array {
  return pruneWithFactor(w, hessianFactor(h, n), n, m, remove);
}

/** The dampened H (modified in place) and its inverse's upper Cholesky factor. */
function hessianFactor(h: Float64Array, n: number): HessianFactor {
  const dead = new Uint8Array(n);
  let meanDiag = 0;
  for (let i = 0; i < n; i++) {
    if (h[i * n + i] === 0) { // an input that is zero in every column: its weights go first
      h[i * n + i] = 1;
      dead[i] = 1;
    }
    meanDiag += h[i * n + i]! / n;
  }
  for (let i = 0; i < n; i++) h[i * n + i]! += DAMPENING * meanDiag;
  return { hinv: upperCholeskyOfInverse(h, n), dead };
}

function pruneWithFactor(w: Float32Array, { hinv, dead }: HessianFactor, n: number, m: number, remove: number): Float32Array {
  // W as the authors hold it: rows = outputs, columns = inputs
  const W = new Float64Array(m * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) W[j * n + i] = dead[i] ? 0 : w[i * m + j]!;

  const out = new Float64Array(m * n);
  let left = remove;
  for (let b0 = 0; b0 < n; b0 += BLOCK) {
    const b1 = Math.min(b0 + BLOCK, n), width = b1 - b0;
    // this block's share of the removals (the last block takes what is left)
    const share = b1 === n ? left : Math.min(left, Math.round((remove * width) / n));
    left -= share;
    const mask = blockMask(W, hinv, n, m, b0, b1, share);
    const err = new Float64Array(m * width);
    for (let i = b0; i < b1; i++) {
      const d = hinv[i * n + i]!;
      for (let r = 0; r < m; r++) {
        const wv = W[r * n + i]!;
        const q = mask[r * width + (i - b0)] ? 0 : wv;
        out[r * n + i] = q;
        const e = (wv - q) / d;
        err[r * width + (i - b0)] = e;
        // the OBS update of the block's later columns
        if (e !== 0) for (let k = i; k < b1; k++) W[r * n + k]! -= e * hinv[i * n + k]!;
      }
    }
    // and of every column after the block
    for (let r = 0; r < m; r++) {
      for (let i = b0; i < b1; i++) {
        const e = err[r * width + (i - b0)]!;
        if (e === 0) continue;
        for (let k = b1; k < n; k++) W[r * n + k]! -= e * hinv[i * n + k]!;
      }
    }
  }
  const result = new Float32Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) result[i * m + j] = out[j * n + i]!;
  return result;
}

/** The `count` entries of the block (rows x columns b0..b1) with the smallest w^2 / [H^-1]_ii^2 (ties: the earlier entry). */
function blockMask(W: Float64Array, hinv: Float64Array, n: number, m: number, b0: number, b1: number, count: number): Uint8Array {
  const width = b1 - b0;
  const order = Array.from({ length: m * width }, (_, k) => k);
  const score = (k: number) => {
    const r = Math.floor(k / width), i = b0 + (k % width), d = hinv[i * n + i]!;
    return W[r * n + i]! ** 2 / (d * d);
  };
  const scores = order.map(score);
  order.sort((a, b) => scores[a]! - scores[b]! || a - b);
  const mask = new Uint8Array(m * width);
  for (let k = 0; k < count; k++) mask[order[k]!] = 1;
  return mask;
}

/**
 * The upper Cholesky factor U of H^-1 (H^-1 = U^T U), without forming H^-1: with J the reversal
 * (J H J = L L^T, Cholesky), H^-1 = J L^-T L^-1 J, so U = J L^-1 J. One factor and one triangular
 * inverse, n^3 / 3 each, in place of the inverse and a second factor the authors' reference takes
 * (ml-matrix's LU inverse of the MLP's 785 x 785 H was 60% of the baseline's time, bench/README.md).
 */
function upperCholeskyOfInverse(h: Float64Array, n: number): Float64Array {
  const H = new Matrix(n, n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) H.set(i, j, h[(n - 1 - i) * n + (n - 1 - j)]!);
  const lower = new CholeskyDecomposition(H).lowerTriangularMatrix;
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) l[i * n + j] = lower.get(i, j);
  // L^-1 column by column by forward substitution; column j kept as row j of `t` (contiguous reads)
  const t = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const col = j * n;
    t[col + j] = 1 / l[j * n + j]!;
    for (let i = j + 1; i < n; i++) {
      let sum = 0;
      const row = i * n;
      for (let k = j; k < i; k++) sum += l[row + k]! * t[col + k]!;
      t[col + i] = -sum / l[row + i]!;
    }
  }
  // U[i][j] = (L^-1)[n-1-i][n-1-j] = t[n-1-j][n-1-i]
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i; j < n; j++) u[i * n + j] = t[(n - 1 - j) * n + (n - 1 - i)]!;
  return u;
}

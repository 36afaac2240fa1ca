// From a layer's signals to its programs (one per group) and back to the stored weights.
// Inputs that are zero in every column are left out of the program: their weights touch no
// constraint, so the l1 minimum sets them to zero anyway; leaving them out is exact and cheaper
// (about a fifth of MNIST's pixels are zero in every calibration image).
import type { LayerSignals, ModelBackend, WeightValues } from './backend.ts';
import type { ModelLayer } from '../graph/layer.ts';
import { groupNorm, type ProgramData } from './constraints.ts';
import { inputChannelOfRows } from '../graph/weights.ts';
import { countNonzero, fromProgram, toProgram, type ProgramWeights } from '../graph/weights.ts';
import { TrimStatus, type LayerInput, type TrimResult } from '../types.ts';

/** One group's program: the solver's input and how its rows map back to the layer's. */
export interface Program {
  input: LayerInput;
  /** Layer input index (within the group) of each program row. */
  rows: Int32Array;
  /** ||Y||_F of this group's outputs after the activation: what a relative epsilon is relative to. */
  targetNorm: number;
  /** ||input.outputs||_F, the norm the solver's relativeError is relative to. */
  solverNorm: number;
}

/** The solved layer: stored tensors, per-group results and the full program weights (warm starts). */
export interface LayerSolution {
  layer: ModelLayer;
  weight: Float32Array;
  bias: Float32Array | null;
  results: TrimResult[];
  /** Per group, (N + 1) x M (or N x M without bias): the solution in program form. */
  programs: Float32Array[];
  columns: number;
  /** Absolute epsilon of each group. */
  epsilons: number[];
  /** Per group: ||outputs after the activation||_F (relative figures) and the solver's ||Y||_F (its relativeError). */
  targetNorms: number[];
  solverNorms: number[];
  /** Set when the opt-in refit moved the kept weights (refit.ts): the error before it, the mean step. */
  refit: { relativeErrorBefore: number; meanStep: number } | null;
  /**
   * Set when the support is not this program's solution but a trimmed one (allocate-trim.ts): the
   * gain whose per-output counts it has (or the path's sparsest gain, for a cut past it). `results`
   * then describe the solve it was trimmed from.
   */
  trimmedAt?: number;
  seconds: number;
}

/**
 * The program of `group`: its columns of X (inputs) and of the targets, regions and bounds of
 * `data` (constraints.ts), zero-everywhere inputs left out. `warm` is a full (N [+1]) x M program
 * solution to start from.
 */
export function buildProgram(s: LayerSignals, group: number, data: ProgramData, warm: Float32Array | null): Program {
  const { inputSize: n, outputSize: m, bias } = s.layer;
  const p = s.columns;
  const rows = liveRows(s.inputs, p, s.inputWidth, group * n, n);
  const live = rows.length;
  const inputs = new Float32Array(p * live);
  for (let c = 0; c < p; c++) {
    const x = c * s.inputWidth + group * n;
    for (let r = 0; r < live; r++) inputs[c * live + r] = s.inputs[x + rows[r]!]!;
  }
  const outputs = groupColumns(s, data.targets, group, Float32Array);
  const input: LayerInput = { inputs, outputs, samples: p, inputSize: live, outputSize: m };
  if (data.bounds) input.slack = groupColumns(s, data.bounds, group, Float32Array);
  if (data.regions) input.regions = groupColumns(s, data.regions, group, Uint8Array);
  // the group program (penalty 'group'; the l1 program ignores them): a convolution's row groups are
  // its input channels, weighted by the full kh * kw taps even where dead rows were left out
  if (s.layer.conv) {
    const channels = inputChannelOfRows(s.layer), taps = s.layer.conv.kernel[0] * s.layer.conv.kernel[1];
    input.rowGroups = Int32Array.from(rows, (r) => channels[r]!);
    input.groupWeights = new Float32Array(n / taps).fill(Math.sqrt(taps));
  } else if (data.rowNeuron) {
    // a Dense layer reading a conv through Flatten: one group per channel, its H * W rows (structured.ts)
    const neurons = Math.max(...data.rowNeuron) + 1;
    input.rowGroups = Int32Array.from(rows, (r) => data.rowNeuron![group * n + r]!);
    input.groupWeights = new Float32Array(neurons).fill(Math.sqrt(n / neurons));
  }
  if (warm) input.initialWeights = selectRows(warm, rows, m, bias !== null, n);
  return { input, rows, targetNorm: groupNorm(s, data.outputs, group), solverNorm: frobenius(outputs) };
}

/** The program weights of the trained layer for `group`, in full program form ((N [+1]) x M, u-space). */
export function trainedProgram(layer: ModelLayer, group: number, weight: Float32Array, bias: Float32Array | null): Float32Array {
  const p = scaled(layer, group, toProgram(layer, group, weight, bias), 'multiply');
  const { inputSize: n, outputSize: m } = layer;
  const full = new Float32Array((n + (layer.bias ? 1 : 0)) * m);
  full.set(p.weights);
  if (p.bias) full.set(p.bias, n * m);
  return full;
}

/**
 * Spreads a result over the full program and writes it to the stored arrays. The rows left out of
 * the program (inputs that are zero on every column) get zeros, or their values in `base` (a full
 * program): a refit on other signals must not drop weights of rows that are dead only there.
 */
export function storeResult(
  layer: ModelLayer, group: number, program: Program, result: TrimResult, weight: Float32Array, bias: Float32Array | null,
  base: Float32Array | null = null,
): Float32Array {
  const { inputSize: n, outputSize: m } = layer;
  const full = base ? base.slice() : new Float32Array((n + (layer.bias ? 1 : 0)) * m);
  for (let r = 0; r < program.rows.length; r++) {
    full.set(result.weights.subarray(r * m, (r + 1) * m), program.rows[r]! * m);
  }
  if (result.bias && layer.bias) full.set(result.bias, n * m);
  const stored = scaled(layer, group, { weights: full.subarray(0, n * m), bias: layer.bias ? full.subarray(n * m) : null }, 'divide');
  fromProgram(layer, group, stored, weight, bias);
  return full;
}

/**
 * Program weights in u-space (constraints.ts: columns times the channel scale a of the folded
 * affine part) from the layer's own ('multiply'), or back ('divide'). A channel with a = 0 has no
 * effect on the output: its weights go to zero.
 */
function scaled(layer: ModelLayer, group: number, w: ProgramWeights, how: 'multiply' | 'divide'): ProgramWeights {
  const scale = layer.structure.affine?.scale;
  if (!scale) return w;
  const m = layer.outputSize;
  const factor = Float32Array.from({ length: m }, (_, j) => {
    const a = scale[group * m + j]!;
    return how === 'multiply' ? a : a === 0 ? 0 : 1 / a;
  });
  const weights = w.weights.map((v, i) => v * factor[i % m]!);
  const bias = w.bias ? w.bias.map((v, j) => v * factor[j]!) : null;
  return { weights, bias };
}

/** One group's M columns of a P x (groups M) array. */
function groupColumns<T extends Float32Array | Uint8Array>(
  s: LayerSignals, values: T, group: number, make: new (n: number) => T,
): T {
  const m = s.layer.outputSize;
  const out = new make(s.columns * m);
  for (let c = 0; c < s.columns; c++) {
    const o = c * s.outputWidth + group * m;
    out.set(values.subarray(o, o + m) as never, c * m);
  }
  return out;
}

function frobenius(a: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * a[i]!;
  return Math.sqrt(sum);
}

const STATUS_RANK: Record<TrimStatus, number> = {
  [TrimStatus.Solved]: 0,
  [TrimStatus.SolvedInaccurate]: 1,
  [TrimStatus.MaxIterations]: 2,
  [TrimStatus.NonFinite]: 3,
};

/** The worst of several statuses. */
export function worstStatus(statuses: readonly TrimStatus[]): TrimStatus {
  return statuses.reduce((a, b) => (STATUS_RANK[b] > STATUS_RANK[a] ? b : a), TrimStatus.Solved);
}

/** Summary figures of a solved layer: nnz, epsilon and error relative to the layer's ||Y||_F. */
export function layerFigures(s: LayerSolution): { nnz: number; epsilon: number; relativeError: number } {
  let eps2 = 0;
  let err2 = 0;
  let y2 = 0;
  s.results.forEach((r, g) => {
    const norm = s.targetNorms[g]!;
    const solverNorm = s.solverNorms[g]!;
    eps2 += s.epsilons[g]! ** 2;
    err2 += (r.relativeError * (solverNorm > 0 ? solverNorm : 1)) ** 2;
    y2 += norm * norm;
  });
  const scale = y2 > 0 ? Math.sqrt(y2) : 1;
  return { nnz: countNonzero(s.weight), epsilon: Math.sqrt(eps2) / scale, relativeError: Math.sqrt(err2) / scale };
}

/** Indices (within [offset, offset + n)) of the inputs nonzero in at least one column. */
function liveRows(x: Float32Array, p: number, width: number, offset: number, n: number): Int32Array {
  const live = new Uint8Array(n);
  for (let c = 0; c < p; c++) {
    const base = c * width + offset;
    for (let i = 0; i < n; i++) if (x[base + i] !== 0) live[i] = 1;
  }
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (live[i]) rows.push(i);
  if (rows.length === 0) rows.push(0); // keep one row so the program stays well formed
  return Int32Array.from(rows);
}

function selectRows(full: Float32Array, rows: Int32Array, m: number, bias: boolean, n: number): Float32Array {
  const out = new Float32Array((rows.length + (bias ? 1 : 0)) * m);
  for (let r = 0; r < rows.length; r++) out.set(full.subarray(rows[r]! * m, rows[r]! * m + m), r * m);
  if (bias) out.set(full.subarray(n * m, n * m + m), rows.length * m);
  return out;
}

/**
 * A baseline pruner over every solved layer: `prune` gets the layer's trained weights in program
 * form (one N x M matrix per group), its trained signals and the nonzero count Net-Trim kept there,
 * and returns the pruned program weights, written back here in the stored layout (biases stay as
 * trained). Wanda and SparseGPT (wanda.ts, sparsegpt.ts) are such pruners.
 */
export function baselineValues(
  backend: ModelBackend, solved: readonly LayerSolution[], trained: readonly LayerSignals[],
  prune: (programs: Float32Array[], signals: LayerSignals, keep: number) => Float32Array[],
): WeightValues {
  const values = new Map<string, Float32Array>();
  for (const s of solved) {
    const layer = s.layer;
    const stored = backend.weightValues(layer.weight);
    const programs = Array.from({ length: layer.groups }, (_, g) => toProgram(layer, g, stored, null).weights);
    const pruned = prune(programs, trained[layer.index]!, countNonzero(s.weight));
    const out = new Float32Array(stored.length);
    pruned.forEach((weights, g) => fromProgram(layer, g, { weights, bias: null }, out, null));
    values.set(layer.weight, out);
  }
  return values;
}

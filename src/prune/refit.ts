// The `refit` setting (on by default in network pruning; --no-refit leaves it out): after Net-Trim
// chose which weights to keep, move the kept weights toward the least-squares fit of the layer's
// targets. It is NOT Net-Trim's program (which minimises ||W||_1 over the feasible set). It keeps the
// support, so the nonzero counts.
//
// For each output neuron j with kept inputs S (the bias row counts when it was kept), w0 being
// Net-Trim's weights on S, and V the bound of the outputs the activation clipped (Omega^c; V = 0 in
// the parallel scheme, W0^T Xhat + b0 in the cascade, -skip before a residual Add):
//   1. bounds 'hard' (the program's constraints kept):
//        w1 = argmin ||(X_S^T w - y)_Omega||^2  subject to (X_S^T w)_p <= V_p for p in Omega^c
//      bounds 'soft' (PruneSettings.refitBounds, the network default):
//        w1 = argmin ||(X_S^T w - y)_Omega||^2 + sum_{p in Omega^c} max(0, (X_S^T w)_p - V_p)^2
//      the squared error after the activation where it clips at V (a ReLU output pushed past its
//      bound costs its excess), and above it on Omega (an active output pushed below the bound costs
//      less after a ReLU than the fit counts): a convex upper bound on that error. Saturated entries
//      (ReLU6's top, bounded below) likewise with the sign turned.
//      Both for every neuron at once in wasm, started at w0: hard bounds by ADMM on the splitting
//      Z = X^T W over all samples, whose W step is the masked normal equations of the one Gram matrix
//      X X^T, solved by CG through the gemm kernel (assembly/refit.ts); soft bounds, a smooth objective,
//      by nonlinear CG on it directly (assembly/refit-ncg.ts: two products per iteration, no Gram
//      matrix, every step lowers the objective, iterations capped by the solve's: refitBudget). A
//      linear layer has no bound and w1 is the plain least squares solution on the support.
//   2. hard: w = w0 + t (w1 - w0) with the largest t in [0, 1] that keeps every inactive output within
//      its bound: (X_S^T w)_p <= max(V_p, (X_S^T w0)_p) + tau, tau = 1e-3 max |Y| (the ADMM is
//      stopped at a tolerance, so w1 may overshoot by that much; the solver itself counts
//      violations up to 1e-2 max |Y| as solved). A violation w0 already had never grows past it.
//      The error on Omega is a convex quadratic in t, so when it is smaller at w1 than at w0 it is
//      smaller all along the segment: the epsilon ball, met by w0, stays met (neuron by neuron,
//      hence for the Frobenius sum). A neuron whose w1 does not lower the error keeps w0 (t = 0).
//      soft: w = w1 when it lowers step 1's objective, else w0. The epsilon ball and the bounds may
//      then be crossed: the point is the error after the activation, which Net-Trim's constraints
//      only stand in for.
//
// Steps 2 and the figures run here, in float64, on the float32 w1 from wasm and on X w0 and X w1,
// computed in float64 in wasm (assembly/refit-figures.ts).
// Omega is the solver's: Y > activeThreshold * c0, c0 = 0.3 sqrt(max (X X^T)) (method.md 3).
// Memory: the samples as float64 here; X, the (N + 1)^2 Gram matrix and a few P x M blocks in wasm.
import { DEFAULT_SETTINGS } from '../settings.ts';
import type { LayerInput } from '../types.ts';
import type { RefitBounds } from './types.ts';
import { WasmKernels } from '../wasm/interface.ts';

export interface RefitResult {
  /** live rows x M and the M biases (null without bias), on the support of the input solution. */
  weights: Float32Array;
  bias: Float32Array | null;
  /** ||(W^T X - Y)_Omega||_F / ||Y||_F before and after. */
  relativeErrorBefore: number;
  relativeError: number;
  /** Largest (W^T X - V) on Omega^c after (ReLU layers; 0 for linear). */
  maxInactive: number;
  /** Mean step t over the neurons with at least one kept weight and one active sample. */
  meanStep: number;
  /** sqrt(||(W^T X - Y)_Omega||^2 + the squared excess past the bounds on Omega^c) / ||Y||_F after: the soft refit's objective, relative. */
  softError: number;
  /** Iterations of the wasm solve (ADMM or NCG; 0 for one least-squares solve). */
  iterations: number;
  /** NCG's per-iteration trace when RefitTuning.trace (f, sum g.S, line-search passes, open columns). */
  trace: Float64Array | null;
}

/** How step 1 is solved; the defaults (REFIT_TUNING) were chosen by bench/refit-soft.ts and bench/refit-wide.ts. */
export interface RefitTuning {
  /** Soft bounds: nonlinear CG on the smooth objective, or the ADMM (hard bounds always take the ADMM). */
  method: 'admm' | 'ncg';
  /** NCG: per-column Jacobi preconditioner (else the shared diagonal of X^T X). */
  perColumn: boolean;
  maxIterations: number;
  /** NCG: a neuron stops when its preconditioned gradient norm falls below this fraction of its start. */
  tolerance: number;
  /** NCG: the whole refit stops when its objective fell by less than this fraction over the last 10 iterations. */
  stall: number;
  trace: boolean;
}

/** Inactive outputs may rise this fraction of max |Y| above their bound (the solver accepts 10x more as solved). */
export const REFIT_TOLERANCE = 1e-3;
/** ADMM iterations at most; the mnist-mlp layers meet the tolerance in 70-110 (bench/refit.ts). */
const ADMM_ITERATIONS = 300;
/** NCG's preconditioner floor, of its largest diagonal entry (inputs silent where a neuron fits). */
const NCG_FLOOR = 1e-4;
/** NCG iterations at least, whatever the solve's count (refitBudget). */
const NCG_MIN_ITERATIONS = 50;
export const REFIT_TUNING: Readonly<RefitTuning> = Object.freeze({
  method: 'ncg', perColumn: true, maxIterations: ADMM_ITERATIONS, tolerance: 1e-3, stall: 1e-3, trace: false,
});

/**
 * Iterations the soft refit (NCG) may take after a Net-Trim solve of `solveIterations`: as many, within
 * [50, 300]. An NCG iteration costs two N x M x P products, a solve iteration two or more, so the refit
 * never costs more than the solve; since every NCG step lowers the objective, stopping at the budget
 * still returns an improvement (bench/README.md, refit-wide.ts: on a 2048-wide layer the objective
 * still falls ~0.3% per iteration at 100 iterations, where the stall test would never stop it).
 */
export function refitBudget(solveIterations: number): number {
  return Math.min(ADMM_ITERATIONS, Math.max(NCG_MIN_ITERATIONS, Math.round(solveIterations)));
}
/** CG steps per ADMM iteration (warm-started: the right-hand side moves little once the iterates settle). */
const CG_STEPS = 4;
const CG_TOLERANCE = 1e-5;
/** Added to the Gram matrix's diagonal, of its largest entry: inputs that are always zero get weight 0. */
const RIDGE = 1e-7;
/** Over-relaxation (Boyd et al. 2011, 3.4.3): fewer iterations at the same cost each. */
const RELAXATION = 1.6;

let shared: Promise<WasmKernels> | null = null;

/** One-thread kernels for callers that bring none (tests, a single program). */
function sharedKernels(): Promise<WasmKernels> {
  shared ??= WasmKernels.create({ threads: 1 });
  return shared;
}

/** Kernels for a run of refits (`threads`: null for the host's cores), closed afterwards. */
export async function withRefitKernels<T>(threads: number | null, run: (kernels: WasmKernels) => Promise<T>): Promise<T> {
  const kernels = await WasmKernels.create(threads === null ? {} : { threads });
  try {
    return await run(kernels);
  } finally {
    await kernels.close();
  }
}

/**
 * Refits one program's solution `solution` ((N [+1]) x M in the program's row order, the form of
 * the solver's initialWeights) on the program's data `input`.
 */
export async function refitProgram(
  input: LayerInput, activation: 'relu' | 'linear', bias: boolean, solution: Float32Array,
  activeThreshold = DEFAULT_SETTINGS.activeThreshold, kernels?: WasmKernels, bounds: RefitBounds = 'hard',
  onIteration?: (iterations: number) => void, tuning: Partial<RefitTuning> = {},
): Promise<RefitResult> {
  const { samples: p, inputSize: n, outputSize: m } = input;
  const rows = n + (bias ? 1 : 0);
  if (solution.length !== rows * m) throw new Error(`refit: solution has ${solution.length} entries, expected ${rows} x ${m}`);
  const columns = augmented(input, bias);
  const regions = input.regions ?? null;
  const relu = regions ? regions.some((r) => r !== 0) : activation === 'relu';
  let maxDiag = 0;
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let s = 0; s < p; s++) sum += columns[s * rows + i]! ** 2;
    maxDiag = Math.max(maxDiag, sum);
  }
  const threshold = relu ? activeThreshold * (maxDiag > 0 ? 0.3 * Math.sqrt(maxDiag) : 1) : -Infinity;
  let ymax = 0;
  for (const v of input.outputs) ymax = Math.max(ymax, Math.abs(v));
  const tolerance = REFIT_TOLERANCE * ymax;

  // Omega (fitted) and the bound's direction on the others, sample-major as Y
  const kinds = new Int8Array(p * m);
  let bounded = false;
  for (let e = 0; e < p * m; e++) {
    const active = regions ? regions[e] === 0 : input.outputs[e]! > threshold;
    if (!active) {
      kinds[e] = regions && regions[e] === 2 ? -1 : 1;
      bounded = true;
    }
  }
  const soft = bounds === 'soft';
  const solved = await leastSquaresAll(
    kernels ?? await sharedKernels(), input, columns, rows, kinds, bounded, solution, tolerance, soft, onIteration, { ...REFIT_TUNING, ...tuning },
  );
  const w1s = solved.w1;

  const out = solution.slice();
  let y2 = 0;
  let before2 = 0;
  let after2 = 0;
  let hinge2 = 0;
  let maxInactive = relu ? -Infinity : 0;
  let steps = 0;
  let neurons = 0;
  const z0 = new Float64Array(p);
  const z1 = new Float64Array(p);
  const z = new Float64Array(p);
  const mp = solved.cols;
  for (let j = 0; j < m; j++) {
    const support: number[] = [];
    for (let i = 0; i < rows; i++) if (solution[i * m + j] !== 0) support.push(i);
    const active = new Uint8Array(p);
    let activeCount = 0;
    for (let s = 0; s < p; s++) {
      const y = input.outputs[s * m + j]!;
      y2 += y * y;
      if (kinds[s * m + j] === 0) {
        active[s] = 1;
        activeCount++;
      }
      z0[s] = solved.start[s * mp + j]!;
      z1[s] = solved.end[s * mp + j]!;
    }
    const neuron: Neuron = {
      columns, rows, p, support, active, y: (s) => input.outputs[s * m + j]!, v: (s) => (input.slack ? input.slack[s * m + j]! : 0),
      sign: (s) => (regions && regions[s * m + j] === 2 ? -1 : 1),
    };
    const err0 = activeError(neuron, z0);
    before2 += err0;
    let t = 0;
    if (support.length > 0 && activeCount > 0) {
      neurons++;
      // soft: the whole step when it lowers the fit plus the squared excess past the bounds (none on a linear layer)
      if (soft) t = activeError(neuron, z1) + hingeError(neuron, z1) < err0 + hingeError(neuron, z0) ? 1 : 0;
      else if (activeError(neuron, z1) < err0) t = relu ? largestStep(neuron, z0, z1, tolerance) : 1;
      if (t === 1) for (const i of support) out[i * m + j] = w1s[i * m + j]!;
      else if (t > 0) for (const i of support) out[i * m + j] = solution[i * m + j]! + t * (w1s[i * m + j]! - solution[i * m + j]!);
      steps += t;
    }
    // Figures of the weights returned (the float32 values actually stored): at t = 0 or 1 those are
    // the start's or w1's, whose responses came from wasm; in between, computed here.
    if (t === 0) z.set(z0);
    else if (t === 1) z.set(z1);
    else responses(neuron, Float64Array.from(support, (i) => out[i * m + j]!), z);
    after2 += activeError(neuron, z);
    if (relu) hinge2 += hingeError(neuron, z);
    if (relu) for (let s = 0; s < p; s++) if (!active[s]) maxInactive = Math.max(maxInactive, neuron.sign(s) * (z[s]! - neuron.v(s)));
  }
  const norm = Math.sqrt(y2) || 1;
  return {
    weights: out.slice(0, n * m),
    bias: bias ? out.slice(n * m) : null,
    relativeErrorBefore: Math.sqrt(before2) / norm,
    relativeError: Math.sqrt(after2) / norm,
    maxInactive: maxInactive === -Infinity ? 0 : maxInactive,
    meanStep: neurons > 0 ? steps / neurons : 0,
    softError: Math.sqrt(after2 + hinge2) / norm,
    iterations: solved.iterations,
    trace: solved.trace,
  };
}

/** Step 1's answer: w1, and X W of the start and of w1 in float64 (samples x cols, cols padded). */
interface LeastSquaresOutput {
  w1: Float32Array;
  iterations: number;
  trace: Float64Array | null;
  start: Float64Array;
  end: Float64Array;
  cols: number;
}

/**
 * Step 1 for every neuron at once, in wasm: w1 (rows x M, zero off the support of `solution`).
 * The problem is padded to multiples of 8 with zeros (padded entries are fitted to 0 and stay 0).
 */
async function leastSquaresAll(
  kernels: WasmKernels, input: LayerInput, columns: Float64Array, rows: number, kinds: Int8Array, bounded: boolean,
  solution: Float32Array, tolerance: number, soft: boolean, onIteration: ((iterations: number) => void) | undefined, tuning: RefitTuning,
): Promise<LeastSquaresOutput> {
  const { samples: p, outputSize: m } = input;
  const pad = (k: number) => Math.ceil(k / 8) * 8;
  const rp = pad(rows), mp = pad(m), pp = pad(p);
  const sampleMajor = (view: Float32Array, value: (e: number) => number) => {
    for (let s = 0; s < p; s++) for (let j = 0; j < m; j++) view[s * mp + j] = value(s * m + j);
  };
  const weightMajor = (view: Float32Array, value: (e: number) => number) => {
    for (let i = 0; i < rows; i++) for (let j = 0; j < m; j++) view[i * mp + j] = value(i * m + j);
  };
  const smooth = soft && bounded && tuning.method === 'ncg';
  const out = await kernels.refitAsync({
    rows: rp, cols: mp, samples: pp,
    fillInputs: (view) => { for (let s = 0; s < p; s++) for (let i = 0; i < rows; i++) view[s * rp + i] = columns[s * rows + i]!; },
    fillOutputs: (view) => sampleMajor(view, (e) => input.outputs[e]!),
    fillBounds: (view) => { if (input.slack) sampleMajor(view, (e) => input.slack![e]!); },
    fillKinds: (view) => sampleMajor(view, (e) => kinds[e]!),
    fillMask: (view) => weightMajor(view, (e) => (solution[e] !== 0 ? 1 : 0)),
    fillStart: (view) => weightMajor(view, (e) => solution[e]!),
  }, {
    bounded, tolerance, maxIterations: tuning.maxIterations, maxCgSteps: CG_STEPS,
    cgTol: smooth ? tuning.tolerance : CG_TOLERANCE, ridge: smooth ? NCG_FLOOR : RIDGE,
    relaxation: RELAXATION, threads: 0, soft, responses: true, method: tuning.method, perColumn: tuning.perColumn, stall: tuning.stall, trace: smooth && tuning.trace,
  }, onIteration);
  const w1 = new Float32Array(rows * m);
  for (let i = 0; i < rows; i++) for (let j = 0; j < m; j++) w1[i * m + j] = out.weights[i * mp + j]!;
  return { w1, iterations: out.iterations, trace: out.trace, start: out.responses!.start, end: out.responses!.end, cols: mp };
}

/** One output neuron's data (shared with test/reference/refit-f64.ts, which differs only in w1): X columns (sample-major, bias 1 appended), its support, Omega, Y and V. */
export interface Neuron {
  columns: Float64Array;
  rows: number;
  p: number;
  support: readonly number[];
  active: Uint8Array;
  y: (s: number) => number;
  v: (s: number) => number;
  /** +1 where the bound is z <= V (inactive), -1 where it is z >= V (saturated, LayerInput.regions 2). */
  sign: (s: number) => number;
}

/** The samples as float64 rows of N (+1 for the bias, whose input is 1). */
export function augmented(input: LayerInput, bias: boolean): Float64Array {
  const { samples: p, inputSize: n } = input;
  const rows = n + (bias ? 1 : 0);
  const x = new Float64Array(p * rows);
  for (let s = 0; s < p; s++) {
    for (let i = 0; i < n; i++) x[s * rows + i] = input.inputs[s * n + i]!;
    if (bias) x[s * rows + n] = 1;
  }
  return x;
}

/** z[s] = x_s[S] . w for every sample. */
export function responses(nr: Neuron, w: Float64Array, z: Float64Array): void {
  const { columns, rows, support } = nr;
  for (let s = 0; s < nr.p; s++) {
    const base = s * rows;
    let sum = 0;
    for (let r = 0; r < support.length; r++) sum += columns[base + support[r]!]! * w[r]!;
    z[s] = sum;
  }
}

export function activeError(nr: Neuron, z: Float64Array): number {
  let sum = 0;
  for (let s = 0; s < nr.p; s++) if (nr.active[s]) sum += (z[s]! - nr.y(s)) ** 2;
  return sum;
}

/** sum over bounded samples of max(0, sign (z - V))^2: what an output past its bound adds to the error after the activation. */
export function hingeError(nr: Neuron, z: Float64Array): number {
  let sum = 0;
  for (let s = 0; s < nr.p; s++) if (!nr.active[s]) sum += Math.max(0, nr.sign(s) * (z[s]! - nr.v(s))) ** 2;
  return sum;
}

/** Largest t in [0, 1] with z0 + t (z1 - z0) within max(V, z0) + tau on every bounded sample (signs as Neuron.sign). */
export function largestStep(nr: Neuron, z0: Float64Array, z1: Float64Array, tolerance: number): number {
  let t = 1;
  for (let s = 0; s < nr.p; s++) {
    if (nr.active[s]) continue;
    const sign = nr.sign(s);
    const a = sign * z0[s]!;
    const b = sign * z1[s]!;
    const bound = Math.max(sign * nr.v(s), a) + tolerance;
    const rise = b - a;
    if (b > bound && rise > 0) t = Math.min(t, (bound - a) / rise);
  }
  return Math.max(0, t);
}

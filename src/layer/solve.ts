// trimLayer: one layer program from sample-major signals to a typed result (method.md sections 1, 3).
import { CG_TOLERANCE, relaxationFor, resolveSettings } from '../settings.ts';
import { TrimStatus, type IterationRecord, type LayerInput, type TrimResult, type TrimSettings } from '../types.ts';
import { TRACE_FIELDS } from '../wasm/abi.ts';
import { WasmKernels, type AdmmOutput, type AdmmParams, type KernelOptions, type LiveFigures, type PaddedProblem } from '../wasm/interface.ts';
import { groupFigures, paddedRowGroups } from './groups.ts';
import { bestThreads, shapeOf } from './lanes.ts';
import { validateLayerInput } from './validate.ts';

/** Per-call options of solveAsync. */
export interface SolveOptions {
  /**
   * Stops the solve: within one iteration when it runs in a worker, else before it starts. The
   * promise then rejects with the signal's reason (an AbortError unless given another).
   */
  signal?: AbortSignal;
  /**
   * Called about every 250 ms while the solve runs in a worker, with its latest iteration and
   * residuals (they decide termination: both residuals at or below their tolerances).
   */
  onIteration?: (live: LiveFigures) => void;
}

/** A reusable solver: compiles the wasm once, keeps its memory between layers. */
export class LayerSolver {
  private constructor(private readonly kernels: WasmKernels) {}

  /** The last queued solveAsync (settled or not). */
  private queue: Promise<unknown> = Promise.resolve();

  static async create(options: KernelOptions = {}): Promise<LayerSolver> {
    return new LayerSolver(await WasmKernels.create(options));
  }

  /** Which wasm build runs: 'relaxed', 'simd' or 'scalar'. */
  get flavour() {
    return this.kernels.flavour;
  }

  /** Threads sharing the products. */
  get threads(): number {
    return this.kernels.threads;
  }

  /** Stops the solver's worker threads; it must not be used afterwards. */
  close(): Promise<void> {
    return this.kernels.close();
  }

  /** Bytes of wasm memory in use (it grows to the largest layer solved). */
  get memoryBytes(): number {
    return this.kernels.memoryBytes;
  }

  /**
   * Solves one layer on the calling thread (thread 0 of the products): the sparsest weights whose
   * responses stay within epsilon. A thread that may not block (a browser's main thread) cannot wait
   * for workers, so there it computes alone: use solveAsync (or trimLayer) to use every thread.
   */
  solve(input: LayerInput, partial: Partial<TrimSettings> = {}): TrimResult {
    const job = prepare(input, partial, this.kernels.threads);
    return finish(job, this.kernels.solve(job.problem, job.params));
  }

  /**
   * Solves one layer in the solver's worker when it has one (threads > 1, or `worker: true`), so the
   * calling thread stays free meanwhile; else as solve() does. Calls queue: one solve at a time per
   * solver (make several solvers to solve layers side by side). `options.signal` cancels.
   */
  solveAsync(input: LayerInput, partial: Partial<TrimSettings> = {}, options: SolveOptions = {}): Promise<TrimResult> {
    // solves queue up: the next starts when the previous one ends, failed or not
    const run = this.queue.then(async () => {
      options.signal?.throwIfAborted();
      const job = prepare(input, partial, this.kernels.threads);
      return finish(job, await this.kernels.solveAsync(job.problem, job.params, options.signal, options.onIteration));
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Whether solveAsync runs in a worker. */
  get inWorker(): boolean {
    return this.kernels.inWorker;
  }
}

/** A validated layer program, laid out for the kernels. */
interface PreparedSolve {
  input: LayerInput;
  settings: TrimSettings;
  targetNorm: number;
  epsilon: number;
  problem: PaddedProblem;
  params: AdmmParams;
  started: number;
}

/** Validates and lays out one program; of the kernels' `threads`, it takes as many as the cost model finds fastest. */
function prepare(input: LayerInput, partial: Partial<TrimSettings>, threads: number): PreparedSolve {
  const started = performance.now();
  const settings = resolveSettings(partial);
  const rows = input.inputSize + (settings.bias ? 1 : 0);
  validateLayerInput(input, rows);
  const targetNorm = frobenius(input.outputs);
  const epsilon = settings.epsilonMode === 'relative' ? settings.epsilon * targetNorm : settings.epsilon;
  const problem = padProblem(input, settings.bias);
  // the group program: rows of W in groups (the bias row and the padding unpenalized)
  if (settings.penalty === 'group') problem.groups = paddedRowGroups(input, problem.rows);
  // regions given: the bounded entries are whichever the caller says, whatever the activation
  const relu = input.regions !== undefined || settings.activation === 'relu';
  const gram = !relu && (settings.form === 'gram' || (settings.form === 'auto' && problem.samples >= problem.rows));
  const params: AdmmParams = {
    epsilon,
    relu,
    absTol: settings.absTol,
    relTol: settings.relTol,
    maxIterations: settings.maxIterations,
    rho: settings.rho,
    adaptiveRho: settings.adaptiveRho,
    // multiply-adds of one product with X in the form that runs
    relaxation: relaxationFor(settings.relaxation, (gram ? rows : input.samples) * rows * input.outputSize),
    activeThreshold: settings.activeThreshold,
    maxCgSteps: settings.maxCgSteps,
    cgTol: CG_TOLERANCE,
    ballTolerance: settings.ballTolerance,
    inactiveTolerance: settings.inactiveTolerance,
    targetNorm,
    traceCapacity: settings.recordHistory ? settings.maxIterations : 0,
    threads: bestThreads(shapeOf(input, settings.bias), threads),
    freeRow: settings.bias && !settings.penalizeBias ? input.inputSize : -1,
    form: gram ? FORM_GRAM : FORM_SAMPLES,
    returnDuals: settings.returnDuals,
  };
  return { input, settings, targetNorm, epsilon, problem, params, started };
}

function finish(job: PreparedSolve, out: AdmmOutput): TrimResult {
  const { input, settings, targetNorm, epsilon } = job;
  const { weights, bias } = unpad(out.weights, input.inputSize, input.outputSize, roundUp(input.outputSize, 8), settings.bias);
  const maxInactive = out.maxInactive === -Infinity ? 0 : out.maxInactive;
  const l1 = sumAbs(weights) + (bias ? sumAbs(bias) : 0);
  const objective = settings.penalizeBias || !bias ? l1 : l1 - sumAbs(bias);
  return {
    weights,
    bias,
    inputSize: input.inputSize,
    outputSize: input.outputSize,
    nnz: countNonzero(weights),
    nnzBias: bias ? countNonzero(bias) : 0,
    l1,
    ...(job.problem.groups ? groupFigures(weights, input.outputSize, job.problem.groups) : {}),
    relativeError: targetNorm > 0 ? out.errorNorm / targetNorm : out.errorNorm,
    relativeEpsilon: targetNorm > 0 ? epsilon / targetNorm : epsilon,
    maxInactive,
    maxInactiveRelative: out.targetMax > 0 ? maxInactive / out.targetMax : maxInactive,
    dualBound: out.dualBound,
    gap: objective > 0 ? (objective - out.dualBound) / objective : 0,
    status: out.status as TrimStatus,
    iterations: out.iterations,
    primalResidual: out.primalResidual,
    dualResidual: out.dualResidual,
    primalTolerance: out.primalTolerance,
    dualTolerance: out.dualTolerance,
    rho: out.rho,
    cgSteps: out.cgSteps,
    preconditionerResidual: out.inverseResidual,
    form: out.gram ? 'gram' : 'samples',
    relaxation: job.params.relaxation,
    workspaceBytes: out.workspaceBytes,
    memoryBytes: out.memoryBytes,
    threads: job.params.threads,
    seconds: (performance.now() - job.started) / 1000,
    ...(out.trace ? { history: toHistory(out.trace) } : {}),
    ...(out.duals ? { duals: out.duals } : {}),
  };
}

let shared: Promise<LayerSolver> | undefined;

/** One-shot form: solves one layer with a solver shared by all calls in this realm. */
export async function trimLayer(input: LayerInput, settings: Partial<TrimSettings> = {}, options: SolveOptions = {}): Promise<TrimResult> {
  shared ??= LayerSolver.create();
  return (await shared).solveAsync(input, settings, options);
}

/** Lays the sample-major signals into zero-padded blocks: rows of W, outputs and samples to multiples of 8. */
function padProblem(input: LayerInput, bias: boolean): PaddedProblem {
  const { samples: p, inputSize: n, outputSize: m } = input;
  const realRows = n + (bias ? 1 : 0);
  const rows = roundUp(realRows, 8), cols = roundUp(m, 8);
  const copyRows = (src: Float32Array, width: number, ld: number) => (view: Float32Array) => {
    for (let s = 0; s < p; s++) view.set(src.subarray(s * width, (s + 1) * width), s * ld);
  };
  const fillInputs = (view: Float32Array) => {
    copyRows(input.inputs, n, rows)(view);
    if (bias) for (let s = 0; s < p; s++) view[s * rows + n] = 1;
  };
  const initial = input.initialWeights;
  return {
    rows, cols, samples: roundUp(p, 8), realRows, realCols: m, realSamples: p,
    fillInputs,
    fillOutputs: copyRows(input.outputs, m, cols),
    fillSlack: input.slack ? copyRows(input.slack, m, cols) : undefined,
    fillRegions: input.regions ? fillRegionSigns(input.regions, m, cols) : undefined,
    fillInitial: initial ? (view) => { for (let r = 0; r < realRows; r++) view.set(initial.subarray(r * m, (r + 1) * m), r * cols); } : undefined,
    ...(input.initialDuals ? { initialDuals: input.initialDuals } : {}),
  };
}

/**
 * Param.Form as assembly/admm.ts reads it. 'auto' is resolved here (the Gram form for linear programs
 * with at least as many samples as rows, padded as the kernels see them), so that the relaxation
 * above and the kernels act on one decision.
 */
const FORM_SAMPLES = 1, FORM_GRAM = 2;

/** Region codes 0 / 1 / 2 as the signs the kernels read: 0 ball, +1 upper bound, -1 lower bound. */
const REGION_SIGN = [0, 1, -1];

function fillRegionSigns(regions: Uint8Array, m: number, ld: number) {
  return (view: Float32Array) => {
    for (let e = 0; e < regions.length; e++) view[Math.floor(e / m) * ld + (e % m)] = REGION_SIGN[regions[e]];
  };
}

/** Splits the padded W into the N x M weights and the bias row. */
function unpad(w: Float32Array, n: number, m: number, ld: number, bias: boolean) {
  const weights = new Float32Array(n * m);
  for (let r = 0; r < n; r++) weights.set(w.subarray(r * ld, r * ld + m), r * m);
  return { weights, bias: bias ? w.slice(n * ld, n * ld + m) : null };
}

function toHistory(trace: Float64Array): IterationRecord[] {
  const records: IterationRecord[] = [];
  for (let k = 0; k + TRACE_FIELDS <= trace.length; k += TRACE_FIELDS) {
    records.push({
      primalResidual: trace[k], dualResidual: trace[k + 1], primalTolerance: trace[k + 2],
      dualTolerance: trace[k + 3], rho: trace[k + 4], cgSteps: trace[k + 5],
      ...(Number.isNaN(trace[k + 6]) ? {} : { check: { errorOverEpsilon: trace[k + 6], inactiveOverMax: trace[k + 7] } }),
    });
  }
  return records;
}

function roundUp(v: number, k: number): number {
  return Math.ceil(v / k) * k;
}

function frobenius(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function countNonzero(a: Float32Array): number {
  let c = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) c++;
  return c;
}

function sumAbs(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]);
  return s;
}

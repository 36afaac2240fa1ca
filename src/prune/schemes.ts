// The two schemes of method.md section 2 over a whole network, on the program data of
// constraints.ts (which keeps what the graph puts between a layer and its activation).
// Parallel: every layer's program uses the trained network's X and Y, V = 0, epsilon = g ||Y||_F.
// Cascade: layer l reads Xhat from the network whose earlier layers are already pruned; Y stays the
// trained one; V = W0^T Xhat + b0 (the trained layer on Xhat, which the runtime computes for us)
// and epsilon = sqrt(gamma) ||(W0^T Xhat + b0 - Y)_Omega||_F, so the trained weights stay feasible.
import type { Feeds } from '../onnx/inputs.ts';
import type { LayerJob, SolverPool } from '../layer/pool.ts';
import type { LayerSignals, ModelBackend, WeightValues } from './backend.ts';
import type { ModelLayer } from '../graph/layer.ts';
import { countNonzero } from '../graph/weights.ts';
import { DEFAULT_SETTINGS } from '../settings.ts';
import type { TrimResult } from '../types.ts';
import { cascadeData, cascadeGap, clipBoundData, groupNorm, parallelData, type ProgramData } from './constraints.ts';
import { buildProgram, storeResult, type LayerSolution, type Program } from './programs.ts';
import { refitBudget, refitProgram, withRefitKernels } from './refit.ts';
import type { WasmKernels } from '../wasm/interface.ts';
import type { ProgressEvent, PruneSettings } from './types.ts';

/** What every scheme needs: the model's backend, its layers, the trained network's signals, solvers. */
export interface PruneContext {
  backend: ModelBackend;
  layers: readonly ModelLayer[];
  feeds: Feeds;
  samples: number;
  settings: PruneSettings;
  /** Solves independent programs side by side (layers of the parallel scheme, groups of a conv). */
  pool: SolverPool;
  /** Stops the solves (PruneOptions.signal). */
  signal?: AbortSignal;
  /** Signals of the trained network, one per layer (same columns as any later pass). */
  trained: LayerSignals[];
  progress: (event: ProgressEvent) => void;
  /** Layers (by index) solved to DRAFT_SETTINGS' accuracy: the points of a search's path on costly layers (allocate.ts). */
  draft?: ReadonlySet<number>;
}

/**
 * Looser tolerances for a search's path on costly layers: its solves only tell what a gain keeps and
 * what it does to the outputs; the gain chosen is solved again at the settings asked for, from the
 * draft. On a 500 x 1024 x 1024 wide layer: 50 iterations instead of 166, nnz +0.4%, l1 +0.004%
 * (bench/README.md "Wide layers' restarts and the --sparsity path").
 */
export const DRAFT_SETTINGS = Object.freeze({ relTol: 1e-2, ballTolerance: 1e-2, inactiveTolerance: 1e-2 });

export interface NetworkSolution {
  /** The relative gain g it was solved with. */
  epsilon: number;
  layers: LayerSolution[];
  seconds: number;
  /** The most programs the pool solved side by side. */
  lanes: number;
}

/** Parallel scheme at relative gain g; `warm` (a solution at another g) starts every program. */
export async function solveParallel(ctx: PruneContext, g: number, warm: NetworkSolution | null): Promise<NetworkSolution> {
  const started = performance.now();
  const counter = programCounter();
  // every program of every layer is independent here: the pool solves them side by side
  const pending = ctx.trained.map((s) =>
    layerPrograms(ctx, s, parallelData(s), () => ({ relative: g }), warm?.layers[s.layer.index] ?? null));
  const layers = await solveLayers(ctx, pending, counter);
  return { epsilon: g, layers, seconds: (performance.now() - started) / 1000, lanes: ctx.pool.lastPlan?.lanes ?? 1 };
}

/**
 * One layer of the parallel scheme at relative gain g, warm-started from `warm` (a solution of that
 * layer); `data` defaults to the trained network's (structured.ts adds row groups to it).
 */
export async function solveLayerAt(
  ctx: PruneContext, index: number, g: number, warm: LayerSolution | null, data?: ProgramData,
): Promise<LayerSolution> {
  const s = ctx.trained[index]!;
  const [solved] = await solveLayers(ctx, [layerPrograms(ctx, s, data ?? parallelData(s), () => ({ relative: g }), warm)], programCounter());
  return solved!;
}

/** Some layers of the parallel scheme (by index) at relative gain g, in one pool run, each warm-started from `warm(index)`. */
export async function solveLayersAt(
  ctx: PruneContext, indices: readonly number[], g: number, warm: (index: number) => LayerSolution | null,
): Promise<LayerSolution[]> {
  const pending = indices.map((i) => {
    const s = ctx.trained[i]!;
    return layerPrograms(ctx, s, parallelData(s), () => ({ relative: g }), warm(i));
  });
  return solveLayers(ctx, pending, programCounter());
}

/** Cascade scheme at relative gain g (first layers) and ctx.settings.gamma (the others). */
export async function solveCascade(ctx: PruneContext, g: number, warm: NetworkSolution | null): Promise<NetworkSolution> {
  const started = performance.now();
  const counter = programCounter();
  const layers: LayerSolution[] = [];
  let lanes = 1;
  for (const trained of ctx.trained) {
    ctx.signal?.throwIfAborted();
    const step = await cascadeStep(ctx, trained, layers, g);
    const prior = warm?.layers[trained.layer.index] ?? null;
    const [solved] = await solveLayers(ctx, [layerPrograms(ctx, step.signals, step.data, step.epsilon, prior)], counter);
    lanes = Math.max(lanes, ctx.pool.lastPlan?.lanes ?? 1);
    // The refit changes what the next layers see, so it happens here, before their Xhat is taken.
    layers.push(ctx.settings.refit ? await refitLayer(ctx, step.signals, refitData(ctx, step), solved!) : solved!);
  }
  return { epsilon: g, layers, seconds: (performance.now() - started) / 1000, lanes };
}

/**
 * The refit of a parallel solution layer by layer in topological order, each layer on the signals
 * of the network whose earlier layers are already refit (the cascade's data: Xhat in, the trained
 * network's Y as targets, V = W0^T Xhat + b0). Same supports as `solution`; each layer's weights
 * absorb the error the pruned layers before it left in its inputs, as the cascade scheme does
 * (refit on the trained signals instead: 82.3% against 92.0% on the ResNet-style example
 * at 50%). Costs one signal pass per layer that a pruned layer reaches.
 */
export async function refitSequential(ctx: PruneContext, solution: NetworkSolution): Promise<NetworkSolution> {
  const started = performance.now();
  const layers: LayerSolution[] = [];
  await withRefitKernels(ctx.settings.threads, async (kernels) => {
    for (const [done, solved] of solution.layers.entries()) {
      ctx.signal?.throwIfAborted();
      const event = { stage: 'refit', done, total: solution.layers.length, detail: solved.layer.name } as const;
      ctx.progress(event);
      const trained = ctx.trained[solved.layer.index]!;
      const step = await cascadeStep(ctx, trained, layers, solution.epsilon);
      const live = (it: number) => ctx.progress({ ...event, live: `it ${it}` });
      layers.push(await refitLayer(ctx, step.signals, refitData(ctx, step), solved, kernels, live));
    }
    ctx.progress({ stage: 'refit', done: layers.length, total: layers.length, detail: 'done' });
  });
  return { ...solution, layers, seconds: solution.seconds + (performance.now() - started) / 1000 };
}

/**
 * A layer solution with its kept weights refit by least squares (refit.ts; bounds as
 * ctx.settings.refitBounds says) on signals `s` and program data `data`.
 */
export async function refitLayer(
  ctx: PruneContext, s: LayerSignals, data: ProgramData, solved: LayerSolution, kernels?: WasmKernels,
  onIteration?: (iterations: number) => void,
): Promise<LayerSolution> {
  if (!kernels) return withRefitKernels(ctx.settings.threads, (k) => refitLayer(ctx, s, data, solved, k, onIteration));
  const started = performance.now();
  const layer = s.layer;
  const weight = solved.weight.slice();
  const bias = solved.bias ? solved.bias.slice() : null;
  const out: LayerSolution = { ...solved, weight, bias, results: [], programs: [] };
  let before2 = 0;
  let norm2 = 0;
  let steps = 0;
  for (let group = 0; group < layer.groups; group++) {
    const program = buildProgram(s, group, data, solved.programs[group]!);
    const r = await refitProgram(
      program.input, layer.activation, layer.bias !== null, program.input.initialWeights!,
      ctx.settings.solver.activeThreshold ?? DEFAULT_SETTINGS.activeThreshold, kernels, ctx.settings.refitBounds, onIteration,
      // the soft refit's cost tied to the solve's (refitBudget); the hard one's ADMM keeps its own cap
      ctx.settings.refitBounds === 'soft' ? { maxIterations: refitBudget(solved.results[group]!.iterations) } : {},
    );
    const result: TrimResult = {
      ...solved.results[group]!, weights: r.weights, bias: r.bias, nnz: countNonzero(r.weights),
      nnzBias: r.bias ? countNonzero(r.bias) : 0, l1: sumAbs(r.weights) + (r.bias ? sumAbs(r.bias) : 0),
      relativeError: r.relativeError, maxInactive: r.maxInactive,
    };
    // rows dead on these signals (not in the program) keep their solved weights
    const full = storeResult(layer, group, program, result, weight, bias, solved.programs[group]!);
    result.nnz = countNonzero(full.subarray(0, layer.inputSize * layer.outputSize));
    out.results.push(result);
    out.programs.push(full);
    before2 += (r.relativeErrorBefore * program.targetNorm) ** 2;
    norm2 += program.targetNorm ** 2;
    steps += r.meanStep;
  }
  out.refit = { relativeErrorBefore: norm2 > 0 ? Math.sqrt(before2 / norm2) : 0, meanStep: steps / layer.groups };
  out.seconds = solved.seconds + (performance.now() - started) / 1000;
  return out;
}

function sumAbs(a: Float32Array): number {
  let sum = 0;
  for (const v of a) sum += Math.abs(v);
  return sum;
}

/** The data a layer's refit fits: the program's, with the bounds where the activation clips when the refit's bounds are soft. */
function refitData(ctx: PruneContext, step: CascadeStep): ProgramData {
  return ctx.settings.refitBounds === 'soft' ? step.clipData : step.data;
}

/** One cascade layer's program data: signals (Xhat, and Zhat = W0^T Xhat + b0), targets, bounds and epsilon. */
export interface CascadeStep {
  signals: LayerSignals;
  data: ProgramData;
  /** `data` with the bounds where the activation clips on these signals (constraints.ts clipBoundData). */
  clipData: ProgramData;
  epsilon: (group: number) => Epsilon;
}

/**
 * The program data of `trained.layer` once the layers in `solved` are pruned. When none of them
 * feeds this layer, Xhat = X and the first-layer rule applies (V = 0, epsilon = g ||Y||_F).
 */
export async function cascadeStep(ctx: PruneContext, trained: LayerSignals, solved: readonly LayerSolution[], g: number): Promise<CascadeStep> {
  const layer = trained.layer;
  if (!solved.some((done) => ctx.backend.reaches(done.layer, layer))) {
    const data = parallelData(trained);
    return { signals: trained, data, clipData: data, epsilon: () => ({ relative: g }) };
  }
  const [hat] = await ctx.backend.collectSignals(solvedValues(solved), [layer], ctx.feeds, ctx.samples, {
    batchSize: ctx.settings.batchSize, maxColumns: ctx.settings.maxColumns, seed: ctx.settings.seed,
  });
  if (hat!.columns !== trained.columns) throw new Error(`${layer.name}: cascade pass gave ${hat!.columns} columns, expected ${trained.columns}`);
  const data = cascadeData(trained, hat!);
  const epsilon = (group: number): Epsilon => {
    const gap = cascadeGap(hat!, data, group);
    // A gap of (nearly) zero means pruning upstream did not reach this layer's signals.
    return gap > 1e-6 * groupNorm(hat!, data.outputs, group) ? { absolute: Math.sqrt(ctx.settings.gamma) * gap } : { relative: g };
  };
  return { signals: hat!, data, clipData: clipBoundData(trained, hat!), epsilon };
}

/** The solved layers' weights and biases, by stored tensor name (what a backend writes or runs). */
export function solvedValues(solved: readonly LayerSolution[]): WeightValues {
  const values = new Map<string, Float32Array>();
  for (const s of solved) {
    values.set(s.layer.weight, s.weight);
    if (s.layer.bias && s.bias) values.set(s.layer.bias, s.bias);
  }
  return values;
}

/** A layer program's epsilon: relative to its ||Y||_F, or absolute. */
export type Epsilon = { relative: number } | { absolute: number };

/** One layer's programs (one per group), ready for the pool, and where their results go. */
interface LayerPrograms {
  signals: LayerSignals;
  programs: Program[];
  /** Absolute epsilon of each group. */
  epsilons: number[];
  jobs: LayerJob[];
}

/**
 * Builds the programs of every group of one layer (warm-started from `warm` when given). A relative
 * epsilon is relative to the layer's output after its activation (ProgramData.outputs).
 */
function layerPrograms(
  ctx: PruneContext, s: LayerSignals, data: ProgramData, epsilonOf: (group: number) => Epsilon, warm: LayerSolution | null,
): LayerPrograms {
  const layer = s.layer;
  const out: LayerPrograms = { signals: s, programs: [], epsilons: [], jobs: [] };
  for (let group = 0; group < layer.groups; group++) {
    const program = buildProgram(s, group, data, warm?.programs[group] ?? null);
    const eps = epsilonOf(group);
    const absolute = 'absolute' in eps ? eps.absolute : eps.relative * program.targetNorm;
    out.programs.push(program);
    out.epsilons.push(absolute);
    out.jobs.push({
      input: program.input,
      settings: {
        // biases are not counted in the sparsity, so the program does not pay for them: a layer keeps its biases
        penalizeBias: false,
        ...ctx.settings.solver, ...(ctx.draft?.has(layer.index) ? DRAFT_SETTINGS : {}),
        epsilon: absolute, epsilonMode: 'absolute', activation: layer.activation, bias: layer.bias !== null,
      },
    });
  }
  return out;
}

/** Solves the programs of these layers in one pool run and writes the results into copies of the stored tensors. */
async function solveLayers(ctx: PruneContext, pending: readonly LayerPrograms[], counter: ProgramCounter): Promise<LayerSolution[]> {
  const total = ctx.layers.reduce((n, l) => n + l.groups, 0);
  const owner = pending.flatMap((p) => p.jobs.map(() => p.signals.layer.name));
  const results = await ctx.pool.solveAll(pending.flatMap((p) => p.jobs), (index) => {
    ctx.progress({ stage: 'solve', done: ++counter.done, total, detail: owner[index]! });
  }, {
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onIteration: (index, live) => ctx.progress({
      stage: 'solve', done: counter.done, total, detail: owner[index]!,
      // short enough for an 80-column terminal beside the bar: iteration, then each residual over its tolerance
      live: `it ${live.iterations}, res/tol ${ratio(live.primalResidual, live.primalTolerance)} ${ratio(live.dualResidual, live.dualTolerance)}`,
    }),
  });
  let next = 0;
  return pending.map((p) => {
    const layer = p.signals.layer;
    const weight = ctx.backend.weightValues(layer.weight);
    const bias = layer.bias ? ctx.backend.weightValues(layer.bias) : null;
    const solution: LayerSolution = {
      layer, weight, bias, results: [], programs: [], columns: p.signals.columns, epsilons: [], targetNorms: [], solverNorms: [], refit: null, seconds: 0,
    };
    p.programs.forEach((program, group) => {
      const result = results[next++]!;
      solution.results.push(result);
      solution.programs.push(storeResult(layer, group, program, result, weight, bias));
      solution.epsilons.push(p.epsilons[group]!);
      solution.targetNorms.push(program.targetNorm);
      solution.solverNorms.push(program.solverNorm);
      solution.seconds += result.seconds;
    });
    return solution;
  });
}

/** r / tolerance, two digits ("3.2"): at or below 1 for both residuals means converged. */
function ratio(r: number, tolerance: number): string {
  return tolerance > 0 ? (r / tolerance).toPrecision(2) : '-';
}

/** Counts solved programs across a scheme run, for the progress bar. */
interface ProgramCounter {
  done: number;
}

function programCounter(): ProgramCounter {
  return { done: 0 };
}

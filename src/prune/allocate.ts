// A sparsity target met by per-layer epsilons chosen from measured sensitivity, not one epsilon for
// every layer (issue: at 70% one g left a classifier head 6-14% of its weights and the accuracy
// collapsed, while wide early layers could lose far more).
//
// Parallel scheme only: its layer programs are independent, so every layer solved at any gain is a
// valid choice for that layer. The allocation
//   1. solves the network at a path of gains (each solve warm-started from its neighbour's), from
//      the gain nearest the starting epsilon upward until the uniform network removes well past the
//      target, then downward only for the layers whose kept counts still fit the budget there;
//   2. measures, for every layer l and gain g_k, what pruning that layer alone does to the model's
//      outputs on the calibration data: D(l, k) = ||f' - f||^2 / ||f||^2 (the runtime runs it),
//      with the layer's weights refit (alone) when the refit is on, as they will be used; with
//      trimSupports, a second candidate at each gain, the last gain's choice trimmed to this gain's
//      per-output counts and refit (allocate-trim.ts), replaces Net-Trim's where it changes less,
//      and when even the sparsest options exceed the budget, further cuts of them (extendPast);
//   3. picks one gain per layer minimising sum_l D(l, k_l) subject to the budget of kept weights,
//      by the Lagrangian: for a multiplier lambda each layer takes argmin_k D(l, k) + lambda nnz(l, k),
//      and lambda is chosen so that the total lands on the target. Squared output changes of
//      independent small perturbations add, which makes the sum a fair proxy of the network's;
//   4. when the discrete choices miss the tolerance, re-solves the largest layer whose choice sits
//      between two gains at an interpolated gain (regula falsi on its kept count).
// A choice that removes a layer entirely is never taken. Cost: the path's solves (bench/README.md:
// the MLP at 85% takes 6 network solves and two of its small layers; from 0.01 it took 8) and one
// forward pass per (layer, gain) on at most SENSITIVITY_SAMPLES samples, and with the refit on one
// refit per (layer, gain), two with trimSupports.
import { sliceSamples, type Feeds } from '../onnx/inputs.ts';
import { countNonzero } from '../graph/weights.ts';
import type { Outputs, WeightValues } from './backend.ts';
import type { LayerSolution } from './programs.ts';
import { parallelData } from './constraints.ts';
import { refitLayer, solveLayerAt, solveLayersAt, solveParallel, solvedValues, type NetworkSolution, type PruneContext } from './schemes.ts';
import { withRefitKernels } from './refit.ts';
import type { WasmKernels } from '../wasm/interface.ts';
import type { AllocationReport, SearchReport, SearchTry } from './types.ts';
import { trimBy, trimTo } from './allocate-trim.ts';

/** Gains of the path, the paper's range (0.01 to 0.3) and beyond; the path starts near the starting epsilon (allocateSparsity). */
export const ALLOCATION_GAINS: readonly number[] = Object.freeze([0.01, 0.025, 0.05, 0.1, 0.17, 0.27, 0.4, 0.55, 0.75, 0.9, 0.97]);
/** Samples the sensitivity passes run on (the first of the calibration set). */
const SENSITIVITY_SAMPLES = 512;
/** Interpolation tries per layer when the discrete choices miss the tolerance. */
const REFINE_TRIES = 4;
/** Cuts past the path's sparsest gain (extendPast), each keeping this fraction of the last one's counts. */
const EXTEND_STEPS = 6;
const EXTEND_FRACTION = 0.75;
/**
 * Layers whose product with X costs at least this many multiply-adds (columns x rows x outputs) are
 * solved along the path to draft accuracy (schemes.ts DRAFT_SETTINGS) and once more, at the gain
 * chosen, to the full one: their solves are the search's cost (the 784-2048-2048-10 MLP's fc1 and
 * fc2, 3e9 and 8e9). The shipped examples' layers (at most ~5e8) are solved fully all along.
 */
const DRAFT_WORK = 1e9;

interface Option {
  g: number;
  nnz: number;
  change: number;
  solution: LayerSolution;
}

export async function allocateSparsity(
  ctx: PruneContext, target: number, tolerance: number, onTry?: (t: SearchTry, n: number) => void,
  onSolved?: (solution: NetworkSolution) => void,
): Promise<{ solution: NetworkSolution; report: SearchReport }> {
  const tries: SearchTry[] = [];
  const weights = ctx.layers.map((l) => ctx.backend.weightValues(l.weight).length);
  const total = weights.reduce((a, b) => a + b, 0);
  const budget = (1 - target) * total;
  // 1a. the path upward from the gain nearest the starting epsilon, until the uniform network is
  //     halfway from the target to fully sparse; each solve starts from the one below it
  const start = nearestGain(ctx.settings.epsilon);
  // the path's solves: costly layers to draft accuracy (step 5 finishes the chosen ones)
  const draft = new Set(ctx.layers.filter((l) => programWork(ctx, l.index) >= DRAFT_WORK).map((l) => l.index));
  const pathCtx: PruneContext = draft.size > 0 ? { ...ctx, draft } : ctx;
  const path: PathPoint[] = [];
  const networks: NetworkSolution[] = [];
  for (let k = start; k < ALLOCATION_GAINS.length; k++) {
    const solution = await solveParallel(pathCtx, ALLOCATION_GAINS[k]!, networks.at(-1) ?? null);
    networks.push(solution);
    path.push({ g: solution.epsilon, layers: solution.layers, seconds: solution.seconds });
    onSolved?.(solution);
    const removed = removedOf(solution.layers, total);
    tries.push({ epsilon: solution.epsilon, removedFraction: removed, seconds: solution.seconds });
    onTry?.(tries.at(-1)!, tries.length);
    if (removed >= target + (1 - target) / 2) break;
  }
  // 1b. downward: kept counts grow as g falls, so a layer keeping more than the budget leaves it
  //     (the budget, less every other layer's fewest kept weights, plus the tolerance) at one gain
  //     cannot be chosen at any lower one and is not solved there. Each solve starts from the
  //     layer's solution at the gain above. Small, sensitive layers go down the whole path; a
  //     layer holding most of the weights stops at once (the MLP's fc1 at 85%: its two costliest solves).
  const fewest = ctx.layers.map((l) => Math.min(...path.map((pt) => countNonzero(pt.layers[l.index]!.weight))));
  const allFewest = fewest.reduce((a, b) => a + b, 0);
  for (let k = start - 1; k >= 0; k--) {
    ctx.signal?.throwIfAborted();
    const above = path[0]!;
    const eligible = ctx.layers.map((l) => l.index).filter((i) => {
      const solution = above.layers[i];
      return solution !== null && countNonzero(solution!.weight) <= budget + tolerance * total - (allFewest - fewest[i]!);
    });
    if (eligible.length === 0) break;
    const started = performance.now();
    const solved = await solveLayersAt(pathCtx, eligible, ALLOCATION_GAINS[k]!, (i) => above.layers[i]!);
    const layers: Array<LayerSolution | null> = ctx.layers.map(() => null);
    eligible.forEach((i, j) => { layers[i] = solved[j]!; });
    path.unshift({ g: ALLOCATION_GAINS[k]!, layers, seconds: (performance.now() - started) / 1000 });
  }
  // 2. what each layer alone, at each gain, does to the outputs
  const probe = await probeOf(ctx);
  const options = await measureOptions(ctx, path, probe);
  await extendPast(ctx, probe, options, budget + tolerance * total);
  // 3. the multiplier whose choices land closest to the budget
  let best = choose(options, 0);
  for (let e = -12; e <= 6; e += 0.02) {
    const picked = choose(options, 10 ** e / total);
    if (better(picked, best, budget)) best = picked;
  }
  let chosen = best.picks.map((o) => o.solution);
  // 4. interpolate the largest layer whose choice sits between two gains
  if (Math.abs(best.nnz - budget) / total > tolerance) chosen = await refine(pathCtx, probe, options, chosen, budget, total, tolerance);
  // 5. the draft layers' chosen gains, solved to the settings asked for from their drafts (a trimmed
  //    support stays: the allocation chose it over Net-Trim's, and its values are already the refit's)
  const finishing = performance.now();
  for (const [pos, l] of ctx.layers.entries()) {
    if (draft.has(l.index) && chosen[pos]!.trimmedAt === undefined) chosen[pos] = await solveLayerAt(ctx, l.index, relativeGain(chosen[pos]!), chosen[pos]!);
  }
  const finishSeconds = (performance.now() - finishing) / 1000;
  const removed = removedOf(chosen, total);
  const g = Math.max(...best.picks.map((o) => o.g));
  const allocation: AllocationReport = {
    rule: 'sensitivity',
    samples: probe.samples,
    layers: ctx.layers.map((l, i) => ({
      name: l.name, epsilon: chosen[i] === best.picks[i]!.solution || !chosen[i]!.epsilons.length ? best.picks[i]!.g : relativeGain(chosen[i]!), nnz: countNonzero(chosen[i]!.weight),
      outputChange: Math.sqrt(best.picks[i]!.change),
    })),
    predictedOutputChange: Math.sqrt(best.change),
  };
  const seconds = path.reduce((n, s) => n + s.seconds, 0) + finishSeconds;
  const lanes = Math.max(...networks.map((s) => s.lanes));
  return {
    solution: { epsilon: g, layers: chosen, seconds, lanes },
    report: {
      target, tolerance, reached: Math.abs(removed - target) <= tolerance, epsilon: g, removedFraction: removed, mixed: true, tries, allocation,
    },
  };
}

interface Choice {
  picks: Option[];
  nnz: number;
  change: number;
}

/** Each layer's option minimising change + lambda nnz. */
function choose(options: readonly Option[][], lambda: number): Choice {
  const picks = options.map((list) => list.reduce((a, b) => (b.change + lambda * b.nnz < a.change + lambda * a.nnz ? b : a)));
  return { picks, nnz: picks.reduce((n, o) => n + o.nnz, 0), change: picks.reduce((n, o) => n + o.change, 0) };
}

/** Within the budget beats over it; then closer to it; then a smaller predicted change. */
function better(a: Choice, b: Choice, budget: number): boolean {
  const da = Math.abs(a.nnz - budget);
  const db = Math.abs(b.nnz - budget);
  if (Math.abs(da - db) > 1e-9 * budget) return da < db;
  return a.change < b.change;
}

/**
 * Regula falsi on the gain of one layer at a time, largest first, among those with options on both
 * sides of what they should keep, so that the total kept count meets the budget; each try solves
 * that layer alone (and, with trimSupports, also trims the lower option's choice to its counts).
 */
async function refine(
  ctx: PruneContext, probe: Probe, options: readonly Option[][], chosen: LayerSolution[], budget: number, total: number, tolerance: number,
): Promise<LayerSolution[]> {
  const out = [...chosen];
  const kept = () => out.reduce((n, s) => n + countNonzero(s.weight), 0);
  const order = ctx.layers.map((_, l) => l).filter((l) => options[l]!.length > 1).sort((a, b) => out[b]!.weight.length - out[a]!.weight.length);
  const run = async (kernels: WasmKernels | null) => {
    for (const l of order) {
      if (Math.abs(kept() - budget) / total <= tolerance) break;
      const want = budget - (kept() - countNonzero(out[l]!.weight)); // kept weights this layer should have
      const list = options[l]!;
      // the options around the wanted count: nnz falls as g grows
      const lo = list.filter((o) => o.nnz >= want).at(-1);
      const hi = list.find((o) => o.nnz <= want);
      if (!lo || !hi || lo === hi || lo.g === hi.g) continue; // the same gain: cuts past the path's end (extendPast)
      let best = out[l]!;
      let bestGap = Math.abs(countNonzero(best.weight) - want);
      let a = { x: Math.log(lo.g), f: lo.nnz - want };
      let b = { x: Math.log(hi.g), f: hi.nnz - want };
      const denser = kernels && ctx.settings.trimSupports ? await asUsed(ctx, lo.solution, kernels) : null;
      for (let t = 0; t < REFINE_TRIES && a.f !== b.f; t++) {
        const x = a.x + (a.f * (b.x - a.x)) / (a.f - b.f);
        const solved = await solveLayerAt(ctx, ctx.layers[l]!.index, Math.exp(x), lo.solution);
        const nnz = countNonzero(solved.weight);
        const candidate = nnz > 0 && denser ? (await optionAt(ctx, probe, solved, Math.exp(x), denser, kernels)).solution : solved;
        const candidateNnz = countNonzero(candidate.weight);
        if (candidateNnz > 0 && Math.abs(candidateNnz - want) < bestGap) {
          best = candidate;
          bestGap = Math.abs(candidateNnz - want);
        }
        if (bestGap / total <= tolerance / 2) break;
        if (nnz - want > 0) a = { x, f: nnz - want };
        else b = { x, f: nnz - want };
      }
      out[l] = best;
    }
    return out;
  };
  return ctx.settings.refit && ctx.settings.trimSupports ? withRefitKernels(ctx.settings.threads, run) : run(null);
}

/** The calibration samples the output changes are measured on, and the trained model's outputs there. */
interface Probe {
  feeds: Feeds;
  samples: number;
  reference: Outputs;
}

/** ||f' - f||^2 / ||f||^2 of the model's outputs on the probe with `values` in place. */
async function changeOf(ctx: PruneContext, probe: Probe, values: WeightValues, label: string): Promise<number> {
  return relativeChange(probe.reference, await ctx.backend.runOutputs(values, label, probe.feeds, probe.samples, ctx.settings.batchSize));
}

/**
 * A layer's option at gain g: Net-Trim's solution, refit alone when `kernels` are given, with its
 * output change; with trimSupports and a denser choice (refit), the trimmed candidate instead when
 * it changes the outputs less (allocate-trim.ts).
 */
async function optionAt(
  ctx: PruneContext, probe: Probe, solution: LayerSolution, g: number, denser: LayerSolution | null, kernels: WasmKernels | null,
): Promise<Option & { used: LayerSolution }> {
  const name = solution.layer.name;
  const used = kernels ? await refitAlone(ctx, solution, kernels) : solution;
  const option = { g, nnz: countNonzero(solution.weight), change: await changeOf(ctx, probe, solvedValues([used]), `${ctx.backend.source} (${name} alone)`), solution, used };
  if (!kernels || !ctx.settings.trimSupports || !denser) return option;
  const trimmed = await refitAlone(ctx, trimTo(denser, solution, ctx.trained[solution.layer.index]!, g), kernels);
  const change = await changeOf(ctx, probe, solvedValues([trimmed]), `${ctx.backend.source} (${name} trimmed)`);
  return change < option.change ? { g, nnz: countNonzero(trimmed.weight), change, solution: trimmed, used: trimmed } : option;
}

/**
 * Every layer's choices along the path with the output change D each makes alone. With the refit
 * on, each choice is measured as it will be used: refit (alone, on the trained signals). Net-Trim's
 * own weights at a large gain are shrunk far more than the refit leaves them, so they overstate what
 * large gains cost (ResNet-style example at 70% removed: 77.7% held-out without, 80.3% with;
 * bench/README.md).
 */
async function measureOptions(ctx: PruneContext, path: readonly PathPoint[], probe: Probe): Promise<Option[][]> {
  const measure = async (kernels: WasmKernels | null): Promise<Option[][]> => {
    const options: Option[][] = [];
    for (const layer of ctx.layers) {
      const list: Option[] = [];
      let denser: LayerSolution | null = null; // the last gain's choice as it is used (refit)
      let lastNnz = -1; // Net-Trim's count at the last gain
      for (let k = 0; k < path.length; k++) {
        ctx.signal?.throwIfAborted();
        const solution = path[k]!.layers[layer.index];
        if (!solution) continue; // not solved at this gain (1b)
        const nnz = countNonzero(solution.weight);
        if (nnz === 0) continue; // never remove a layer entirely
        // the same weights as the last gain: the same choice
        if (nnz === lastNnz) {
          list.push({ ...list.at(-1)!, g: path[k]!.g });
          continue;
        }
        lastNnz = nnz;
        const { used, ...option } = await optionAt(ctx, probe, solution, path[k]!.g, denser, kernels);
        denser = used;
        list.push(option);
      }
      if (list.length === 0) list.push(densestOption(path, layer.index));
      options.push(list);
      ctx.progress({ stage: 'search', done: layer.index + 1, total: ctx.layers.length, detail: `sensitivity of ${layer.name}` });
    }
    return options;
  };
  return ctx.settings.refit ? withRefitKernels(ctx.settings.threads, measure) : measure(null);
}

/**
 * When even every layer's sparsest option keeps more than `most` weights (the MobileNet-style
 * example at 70%: its ReLU6 programs keep many weights at any gain), cuts each layer's sparsest
 * choice (refit) to EXTEND_FRACTION of its per-output counts and refits it, as further options, until
 * the budget can be met or EXTEND_STEPS cuts are made (allocate-trim.ts trimBy). With trimSupports only.
 */
async function extendPast(ctx: PruneContext, probe: Probe, options: Option[][], most: number): Promise<void> {
  const fewest = () => options.reduce((n, list) => n + Math.min(...list.map((o) => o.nnz)), 0);
  if (!ctx.settings.refit || !ctx.settings.trimSupports || fewest() <= most) return;
  await withRefitKernels(ctx.settings.threads, async (kernels) => {
    for (let step = 0; step < EXTEND_STEPS && fewest() > most; step++) {
      for (const [l, layer] of ctx.layers.entries()) {
        ctx.signal?.throwIfAborted();
        const list = options[l]!;
        const last = list.reduce((a, b) => (b.nnz < a.nnz ? b : a));
        const denser = await asUsed(ctx, last.solution, kernels);
        const trimmed = await refitAlone(ctx, trimBy(denser, EXTEND_FRACTION, ctx.trained[layer.index]!, last.g), kernels);
        const nnz = countNonzero(trimmed.weight);
        if (nnz === 0 || nnz >= last.nnz) continue;
        list.push({ g: last.g, nnz, change: await changeOf(ctx, probe, solvedValues([trimmed]), `${ctx.backend.source} (${layer.name} cut)`), solution: trimmed });
      }
    }
  });
}

/** An option's weights as they will be used: a trimmed support is refit already, Net-Trim's is refit here (alone). */
function asUsed(ctx: PruneContext, solution: LayerSolution, kernels: WasmKernels): Promise<LayerSolution> {
  return solution.trimmedAt !== undefined ? Promise.resolve(solution) : refitAlone(ctx, solution, kernels);
}

/** A layer's solution refit on the trained network's signals: the layer alone in the trained network. */
function refitAlone(ctx: PruneContext, solution: LayerSolution, kernels: WasmKernels): Promise<LayerSolution> {
  const trained = ctx.trained[solution.layer.index]!;
  return refitLayer(ctx, trained, parallelData(trained), solution, kernels);
}

function densestOption(path: readonly PathPoint[], index: number): Option {
  const point = path.find((pt) => pt.layers[index])!;
  const solution = point.layers[index]!;
  return { g: point.g, nnz: countNonzero(solution.weight), change: 0, solution };
}

/** One gain of the path: every layer solved there (1a), or only those that could be chosen (1b). */
interface PathPoint {
  g: number;
  layers: ReadonlyArray<LayerSolution | null>;
  seconds: number;
}

/** Multiply-adds of one product with a layer's program inputs: columns x rows (with the bias) x outputs. */
function programWork(ctx: PruneContext, index: number): number {
  const s = ctx.trained[index]!;
  return s.columns * (s.layer.inputSize + 1) * s.layer.outputSize;
}

/** The index of the path's gain nearest g (in log g). */
function nearestGain(g: number): number {
  let best = 0;
  for (let k = 1; k < ALLOCATION_GAINS.length; k++) {
    if (Math.abs(Math.log(ALLOCATION_GAINS[k]! / g)) < Math.abs(Math.log(ALLOCATION_GAINS[best]! / g))) best = k;
  }
  return best;
}

/** The relative gain a layer was solved at (its epsilon over its outputs' norm). */
function relativeGain(s: LayerSolution): number {
  const eps = Math.hypot(...s.epsilons);
  const norm = Math.hypot(...s.targetNorms);
  return norm > 0 ? eps / norm : 0;
}

function removedOf(layers: readonly LayerSolution[], total: number): number {
  return 1 - layers.reduce((n, l) => n + countNonzero(l.weight), 0) / total;
}

/** ||a - b||^2 / ||a||^2 over every output. */
function relativeChange(a: Outputs, b: Outputs): number {
  let diff = 0;
  let norm = 0;
  for (const [name, before] of a) {
    const after = b.get(name)!;
    for (let i = 0; i < before.length; i++) {
      diff += (after[i]! - before[i]!) ** 2;
      norm += before[i]! ** 2;
    }
  }
  return norm > 0 ? diff / norm : diff;
}

/** The first calibration samples, a whole number of batches (a model may fix its batch size). */
async function probeOf(ctx: PruneContext): Promise<Probe> {
  const batch = ctx.settings.batchSize;
  const samples = Math.min(ctx.samples, Math.max(batch, Math.floor(SENSITIVITY_SAMPLES / batch) * batch));
  const feeds = samples === ctx.samples ? ctx.feeds : new Map([...ctx.feeds].map(([name, t]) => [name, sliceSamples(t, 0, samples)]));
  const reference = await ctx.backend.runOutputs(new Map(), ctx.backend.source, feeds, samples, ctx.settings.batchSize);
  return { feeds, samples, reference };
}

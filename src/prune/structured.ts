// Structured Net-Trim (issue 10): remove whole hidden neurons and conv channels.
//
// For every link (structured-links.ts: a producer layer P and the next layer C reading its neurons)
// C's program is the group program (method.md section 7): min sum_i w_i ||W_i,:||_2 over C's input
// rows grouped by the P neuron they read, under the same constraints as the l1 program. A zero group
// means C never reads that neuron: P's column, bias (and anything between) can go. The first layer's
// rows are the model's inputs, not neurons: it is never solved here and keeps all its inputs.
//   1. With a `keep` target, each link's relative gain is searched (search.ts, one layer at a time:
//      the layers of the parallel scheme are independent) until C reads the link's neuron count
//      (keepCounts: the same fraction of every producer's neurons, or the fraction that meets a
//      multiply-add target); where a step in g drops several neurons at once, the closest try
//      with too many loses its weakest groups. Without a target, every C is solved at `epsilon`.
//   2. The refit (on by default, refit.ts) moves C's kept rows to the least-squares fit, layer after
//      layer on the signals of the network pruned so far (as the cascade scheme does).
//   3. P's removed neurons are zeroed too, so the masked model has what the shrunk one has.
//   4. Optionally (weightsAfterNeurons) the l1 program then prunes single weights inside the kept
//      neurons: the usual pipeline (index.ts) on the neuron-pruned model (valuesBackend).
// The written model is backend.shrink's (the smaller tensors) when the backend has it, else the
// zero-masked one. The L1-norm baseline (Li et al. 2017) runs at the same per-layer neuron counts.
import type { ShrinkOutcome } from '../graph/shrink.ts';
import { InputError } from '../errors.ts';
import { batchSizeFor, checkFeeds, type Feeds, type TensorData } from '../onnx/inputs.ts';
import { countNonzero, storedIndex } from '../graph/weights.ts';
import { SolverPool } from '../layer/pool.ts';
import { buildFigures } from '../report/figures.ts';
import type { LayerSignals, ModelBackend, WeightValues } from './backend.ts';
import { parallelData } from './constraints.ts';
import { labelIndices, maxRelativeChange, topOneAccuracy } from './evaluate.ts';
import { asFeeds, checkEvaluation, evaluate, type CheckedEvaluation } from './evaluation.ts';
import { pruneWeights } from './elementwise.ts';
import type { PruneOptions, PruneOutcome } from './outcome.ts';
import { l1NeuronValues } from './l1-neurons.ts';
import { magnitudeValues } from './magnitude.ts';
import type { LayerSolution } from './programs.ts';
import { buildReport } from './report.ts';
import { refitSequential, solveLayerAt, solvedValues, type NetworkSolution, type PruneContext } from './schemes.ts';
import { searchSparsity } from './search.ts';
import { sparseGptValues } from './sparsegpt.ts';
import {
  flopsOf, keepCounts, neuronLinks, neuronsRead, paramsOf, shapesAt, withoutNeurons, type NeuronLink,
} from './structured-links.ts';
import type { EvalReport, NeuronLayerReport, PruneReport, PruneSettings, StructureReport } from './types.ts';
import { wandaValues } from './wanda.ts';

/** One link's group program result: the consumer's solution and the neurons it still reads. */
interface ChosenNeurons {
  link: NeuronLink;
  solution: LayerSolution;
  /** The relative gain of the chosen solve. */
  epsilon: number;
  tries: number;
  reached: boolean;
}

/** pruneNetwork with structure 'neurons' (settings already resolved). */
export async function pruneNeurons<Written>(
  backend: ModelBackend<Written>, calibration: Feeds | TensorData, s: PruneSettings, options: PruneOptions,
): Promise<PruneOutcome<Written>> {
  const started = performance.now();
  const progress = options.onProgress ?? (() => {});
  const signal = options.signal;
  const links = neuronLinks(backend);
  if (links.length === 0) {
    throw new InputError(`${backend.source}: no prunable layer reads another one's neurons (Dense or Conv after Dense or Conv): there are no neurons to remove`);
  }
  const feeds = asFeeds(backend.inputs, calibration, 'calibration');
  const samples = checkFeeds(backend.inputs, feeds, 'calibration');
  const batchSize = batchSizeFor(backend.inputs, samples, s.batchSize);
  const evaluation = options.evaluation ? checkEvaluation(backend.inputs, options.evaluation) : null;
  const trained = await backend.collectSignals(new Map(), backend.layers, feeds, samples, {
    batchSize, maxColumns: s.maxColumns, seed: s.seed,
    onBatch: (done, total) => progress({ stage: 'signals', done, total, detail: 'trained network' }),
  });
  const positions = trained.map((t) => (t.geometry ? t.geometry.outHeight * t.geometry.outWidth : 1));
  const targets = s.keep ? keepCounts(backend.layers, positions, links, s.keep, s.neuronMultiple) : null;

  const pool = await SolverPool.create(s.threads === null ? {} : { threads: s.threads });
  const ctx: PruneContext = {
    backend, layers: links.map((l) => l.consumer), feeds, samples, pool, trained, progress, ...(signal ? { signal } : {}),
    settings: { ...s, batchSize, solver: { ...s.solver, penalty: 'group' } },
  };
  const chosen: ChosenNeurons[] = [];
  try {
    for (const [i, link] of links.entries()) {
      signal?.throwIfAborted();
      chosen.push(await chooseNeurons(ctx, link, targets?.[i] ?? null, i, links.length));
    }
  } finally {
    await pool.close();
  }
  let solution: NetworkSolution = {
    epsilon: Math.max(...chosen.map((c) => c.epsilon)), layers: chosen.map((c) => c.solution),
    seconds: chosen.reduce((n, c) => n + c.solution.seconds, 0), lanes: 1,
  };
  // in order, each consumer on the signals of the network whose earlier consumers are pruned and
  // refit (the cascade's Xhat, method.md section 2): it then makes up for what they changed
  if (s.refit) solution = await refitSequential(ctx, solution);
  const neuronValues = new Map(solvedValues(solution.layers));
  const kept = chosen.map((c, i) => neuronsRead(c.link, solution.layers[i]!.weight));
  chosen.forEach((c, i) => withoutNeurons(backend, neuronValues, c.link.producer, kept[i]!));
  const counts = kept.map(countOnes);

  // 4. single weights inside the kept neurons: the usual pipeline on the neuron-pruned model
  let inner: PruneOutcome<WeightValues> | null = null;
  if (s.weightsAfterNeurons) {
    inner = await pruneWeights(valuesBackend(backend, neuronValues), calibration, { ...s, structure: 'weights', keep: null, neuronMultiple: 1, weightsAfterNeurons: false }, {
      onProgress: progress, ...(signal ? { signal } : {}), ...(options.evaluation ? { evaluation: options.evaluation } : {}),
    });
  }
  const pruned = inner ? inner.model : neuronValues;
  signal?.throwIfAborted();
  const l1 = l1NeuronValues(backend, links.map((link, i) => ({ producer: link.producer, keep: counts[i]!, consumers: [{ layer: link.consumer, rowNeuron: link.rowNeuron }] })));

  progress({ stage: 'evaluate', done: 0, total: evaluation ? 2 : 1, detail: 'output change' });
  const trainedOutputs = await backend.runOutputs(new Map(), backend.source, feeds, samples, batchSize);
  const maxOutputChange = maxRelativeChange(trainedOutputs, await backend.runOutputs(pruned, `${backend.source} (pruned)`, feeds, samples, batchSize), samples);
  let evalReport: EvalReport | null = null;
  if (evaluation) {
    progress({ stage: 'evaluate', done: 1, total: 2, detail: 'accuracy' });
    evalReport = await structuredEvaluation(backend, pruned, l1, inner?.report.eval ?? null, solution, trained, evaluation, s.batchSize);
  }
  progress({ stage: 'evaluate', done: evaluation ? 2 : 1, total: evaluation ? 2 : 1, detail: 'done' });

  const shrunk = backend.shrink ? backend.shrink(pruned) : null;
  const report: PruneReport = inner
    ? { ...inner.report, maxOutputChange, eval: evalReport }
    : buildReport({
      model: backend.source, settings: s, calibrationSamples: samples, solution,
      nnzBefore: backend.layers.map((l) => countNonzero(backend.weightValues(l.weight))), skipped: [...backend.skipped], search: null,
      maxOutputChange, evaluation: evalReport, seconds: 0, threads: pool.threads,
    });
  report.total.seconds = (performance.now() - started) / 1000;
  report.structure = structureReport(backend, s, positions, links, chosen, counts, shrunk, inner !== null);
  // the magnitude slot carries the structured baseline: L1-norm neurons at the same counts (masked)
  const baseline = backend.write(l1);
  return {
    model: shrunk ? shrunk.model : backend.write(pruned),
    maskedModel: backend.write(pruned),
    magnitudeModel: baseline,
    wandaModel: inner ? backend.write(inner.wandaModel) : baseline,
    report,
    figures: inner ? inner.figures : buildFigures(backend.inputs, solution.layers),
  };
}

/** The consumer's program data: the trained signals, with row groups when it is not a conv (whose geometry gives them). */
function dataOf(trained: readonly LayerSignals[], link: NeuronLink) {
  const data = parallelData(trained[link.consumer.index]!);
  return link.consumer.conv ? data : { ...data, rowNeuron: link.rowNeuron };
}

/**
 * The consumer's group program at the gain that leaves it reading `keep` of the producer's neurons
 * (search.ts on the consumer alone, measuring the fraction of neurons it no longer reads), or at
 * `epsilon` when there is no target.
 */
async function chooseNeurons(ctx: PruneContext, link: NeuronLink, keep: number | null, index: number, count: number): Promise<ChosenNeurons> {
  const c = link.consumer;
  const data = dataOf(ctx.trained, link);
  const s = ctx.settings;
  if (keep === null) {
    const solution = await solveLayerAt(ctx, c.index, s.epsilon, null, data);
    return { link, solution, epsilon: s.epsilon, tries: 1, reached: true };
  }
  const found = await searchSparsity(async (g, warm) => {
    const layer = await solveLayerAt(ctx, c.index, g, warm?.layers[0] ?? null, data);
    return { epsilon: g, layers: [layer], seconds: layer.seconds, lanes: 1 };
  }, {
    target: 1 - keep / link.neurons, tolerance: neuronTolerance(link.neurons), start: s.epsilon, maxTries: s.maxSearchTries, mixLayers: false,
    // unread neurons, not zero weights: a row can be zero alone (an input that is zero on every sample)
    measure: (solved) => 1 - countOnes(neuronsRead(link, solved.layers[0]!.weight)) / link.neurons,
    onTry: (t, n) => ctx.progress({
      stage: 'search', done: index, total: count,
      detail: `${link.producer.name} neurons (group program of ${c.name}, try ${n}): eps ${t.epsilon.toPrecision(3)}, ${Math.round((1 - t.removedFraction) * link.neurons)} of ${link.neurons} read, target ${keep}`,
    }),
  });
  let solution = found.solution.layers[0]!;
  let epsilon = found.report.epsilon, tries = found.report.tries.length;
  let read = countOnes(neuronsRead(link, solution.weight));
  const tolerance = neuronTolerance(link.neurons);
  if (read / link.neurons < keep / link.neurons - tolerance) {
    // the closest try reads too few (a step in g dropped many at once, e.g. to none, tied in distance
    // with one reading too many): solve again at the largest gain whose try read enough, and drop
    // from there, rather than leave the layer fewer neurons than asked
    const enough = found.report.tries.filter((t) => Math.round((1 - t.removedFraction) * link.neurons) >= keep);
    const g = Math.max(...enough.map((t) => t.epsilon));
    if (enough.length > 0) {
      solution = await solveLayerAt(ctx, c.index, g, null, data);
      epsilon = g;
      tries++;
      read = countOnes(neuronsRead(link, solution.weight));
    }
  }
  // a step in g can drop several neurons at once: then the closest try, when it reads too many,
  // loses its weakest groups (smallest row-group norm) down to the target; the refit follows.
  // With a neuron multiple the count is a ceiling: one neuron over costs a runtime a whole panel
  if ((!found.report.reached || s.neuronMultiple > 1) && read > keep) solution = withoutWeakestGroups(link, solution, read - keep);
  const reached = Math.abs(countOnes(neuronsRead(link, solution.weight)) / link.neurons - keep / link.neurons) <= tolerance;
  return { link, solution, epsilon, tries, reached };
}

/** The consumer's solution with the `drop` read neurons of smallest group norm no longer read (stored and program form). */
function withoutWeakestGroups(link: NeuronLink, solved: LayerSolution, drop: number): LayerSolution {
  const c = link.consumer, m = c.outputSize;
  const norms = new Float64Array(link.neurons);
  for (let i = 0; i < c.inputSize; i++) for (let j = 0; j < m; j++) norms[link.rowNeuron[i]!]! += solved.programs[0]![i * m + j]! ** 2;
  const order = Array.from(norms.keys()).filter((o) => norms[o]! > 0).sort((a, b) => norms[a]! - norms[b]!);
  const gone = new Set(order.slice(0, drop));
  const weight = solved.weight.slice(), program = solved.programs[0]!.slice();
  for (let i = 0; i < c.inputSize; i++) {
    if (!gone.has(link.rowNeuron[i]!)) continue;
    for (let j = 0; j < m; j++) {
      weight[storedIndex(c, 0, i, j)] = 0;
      program[i * m + j] = 0;
    }
  }
  return { ...solved, weight, programs: [program] };
}

/** How far a layer's kept fraction may land from its target: half a neuron, or one percent of a wide layer. */
export function neuronTolerance(neurons: number): number {
  return Math.max(0.5 / neurons, 0.01);
}

/**
 * A backend over the neuron-pruned values `base`: the trained tensors it reports and runs are
 * `base` over the real ones, and a "written" model is the merged weight values (what the
 * structured pipeline shrinks and writes at the end).
 */
export function valuesBackend(backend: ModelBackend, base: WeightValues): ModelBackend<WeightValues> {
  const merged = (values: WeightValues): WeightValues => new Map([...base, ...values]);
  return {
    source: backend.source, layers: backend.layers, skipped: backend.skipped, inputs: backend.inputs,
    weightValues: (name) => base.get(name)?.slice() ?? backend.weightValues(name),
    reaches: (from, layer) => backend.reaches(from, layer),
    collectSignals: (values, layers, feeds, samples, o) => backend.collectSignals(merged(values), layers, feeds, samples, o),
    runOutputs: (values, label, feeds, samples, batch) => backend.runOutputs(merged(values), label, feeds, samples, batch),
    write: merged,
  };
}

/**
 * Accuracy of the trained and pruned models and of the L1-norm neurons at the same counts. The
 * element-wise baselines are those of the weights stage (inside the kept neurons) when there was
 * one, else at the consumers' nonzero counts.
 */
async function structuredEvaluation(
  backend: ModelBackend, pruned: WeightValues, l1: WeightValues, inner: EvalReport | null, solution: NetworkSolution,
  trained: readonly LayerSignals[], e: CheckedEvaluation, requestedBatch: number,
): Promise<EvalReport> {
  const batch = batchSizeFor(backend.inputs, e.samples, requestedBatch);
  const before = await backend.runOutputs(new Map(), backend.source, e.feeds, e.samples, batch);
  const base = inner ?? await evaluate(backend, pruned, {
    magnitude: magnitudeValues(backend, solution.layers), wanda: wandaValues(backend, solution.layers, trained),
    sparseGpt: sparseGptValues(backend, solution.layers, trained),
  }, e, requestedBatch, before);
  const after = await backend.runOutputs(pruned, `${backend.source} (pruned)`, e.feeds, e.samples, batch);
  const baseline = await backend.runOutputs(l1, `${backend.source} (L1-norm neurons)`, e.feeds, e.samples, batch);
  const first = [...before.keys()][0]!;
  const labels = labelIndices(e.labels, e.samples, before.get(first)!.length / e.samples);
  return {
    ...base,
    accuracyBefore: topOneAccuracy(before.get(first)!, labels),
    accuracyAfter: topOneAccuracy(after.get(first)!, labels),
    maxOutputChange: maxRelativeChange(before, after, e.samples),
    accuracyL1Neurons: topOneAccuracy(baseline.get(first)!, labels),
    maxOutputChangeL1Neurons: maxRelativeChange(before, baseline, e.samples),
  };
}

/** Neurons, multiply-adds and parameters per layer; the shrink's own counts where it ran. */
function structureReport<Written>(
  backend: ModelBackend<Written>, s: PruneSettings, positions: readonly number[], links: readonly NeuronLink[], chosen: readonly ChosenNeurons[],
  counts: number[], shrunk: ShrinkOutcome<Written> | null, weightsAfter: boolean,
): StructureReport {
  const byName = new Map(shrunk?.layers.map((l) => [l.name, l]) ?? []);
  // the written model's counts: a neuron the surgery had to keep (a residual Add) still costs
  const written = links.map((l, i) => byName.get(l.producer.name)?.after ?? counts[i]!);
  const shapes = shapesAt(backend.layers, positions, links, written);
  const layers = shapes.map((shape): NeuronLayerReport => {
    const layer = shape.layer;
    const link = links.findIndex((l) => l.producer === layer);
    const shrinkLayer = byName.get(layer.name);
    const params = paramsOf(shape, backend.weightValues(layer.weight).length);
    const flops = flopsOf(shape);
    // the written model's own counts where the surgery ran: it also cuts layers no program chose
    // (a stem whose channels only feed depthwise groups that went); a weight is one multiply-add
    // per output position, so the weights left are the multiply-adds left
    const flopsAfter = shrinkLayer ? Math.round(flops.before * shrinkLayer.weightsAfter / shrinkLayer.weightsBefore) : flops.after;
    return {
      name: layer.name, op: layer.op, neuronsBefore: layer.groups * layer.outputSize, neuronsAfter: shrinkLayer?.after ?? shape.neurons,
      keptDead: shrinkLayer?.keptDead ?? 0, reason: shrinkLayer?.reason ?? null,
      flopsBefore: flops.before, flopsAfter,
      paramsBefore: shrinkLayer?.paramsBefore ?? params.before, paramsAfter: shrinkLayer?.paramsAfter ?? params.after,
      epsilon: link >= 0 ? chosen[link]!.epsilon : null, tries: link >= 0 ? chosen[link]!.tries : 0,
    };
  });
  const sum = (f: (l: NeuronLayerReport) => number, only?: (l: NeuronLayerReport, i: number) => boolean) =>
    layers.filter((l, i) => !only || only(l, i)).reduce((n, l) => n + f(l), 0);
  const hidden = (_: NeuronLayerReport, i: number) => links.some((l) => l.producer === shapes[i]!.layer);
  const neurons = { before: sum((l) => l.neuronsBefore, hidden), after: sum((l) => l.neuronsAfter, hidden) };
  const flops = { before: sum((l) => l.flopsBefore), after: sum((l) => l.flopsAfter) };
  return {
    target: s.keep, neuronMultiple: s.neuronMultiple, keptNeuronFraction: neurons.after / neurons.before, keptFlopFraction: flops.after / flops.before,
    reached: chosen.every((c) => c.reached), layers, neurons, flops,
    params: shrunk ? { before: shrunk.paramsBefore, after: shrunk.paramsAfter } : { before: sum((l) => l.paramsBefore), after: sum((l) => l.paramsAfter) },
    shrunk: shrunk !== null, weightsAfter,
  };
}

function countOnes(a: Uint8Array): number {
  let n = 0;
  for (const v of a) n += v;
  return n;
}

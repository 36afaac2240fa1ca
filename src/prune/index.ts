// pruneModel: an ONNX model and calibration inputs in, the pruned model and a report out.
// pruneNetwork does the work for any model backend (prune/backend.ts): ONNX here, TensorFlow.js
// Layers models in src/tfjs/prune.ts.
import { onnxBackend } from '../onnx/backend.ts';
import { InputError } from '../errors.ts';
import { batchSizeFor, checkFeeds, modelInputs, type Feeds, type ModelInput, type TensorData } from '../onnx/inputs.ts';
import { parseModel, readModel, type OnnxModel } from '../onnx/model.ts';
import { countNonzero } from '../graph/weights.ts';
import { SolverPool } from '../layer/pool.ts';
import type { LayerSignals, ModelBackend, Outputs, WeightValues } from './backend.ts';
import { labelIndices, maxRelativeChange, topOneAccuracy } from './evaluate.ts';
import { magnitudeValues } from './magnitude.ts';
import { sparseGptValues } from './sparsegpt.ts';
import { wandaValues } from './wanda.ts';
import { buildReport, fileReport } from './report.ts';
import { refitSequential, solveCascade, solveParallel, solvedValues, type NetworkSolution, type PruneContext } from './schemes.ts';
import { removedFraction, searchSparsity } from './search.ts';
import { allocateSparsity } from './allocate.ts';
import { resolvePruneSettings } from './settings.ts';
import type { EvalReport, EvalTry, ProgressEvent, PruneReport, PruneSettings, SearchReport, SearchTry } from './types.ts';
import { buildFigures, type ReportFigures } from '../report/figures.ts';

export { DEFAULT_PRUNE_SETTINGS } from './types.ts';
export type {
  PruneSettings, PruneReport, LayerReport, EvalReport, EvalTry, SearchReport, ProgressEvent, Scheme, WeightFormat, FileReport,
} from './types.ts';
export type { ReportFigures } from '../report/figures.ts';
export { renderHtmlReport } from '../report/html.ts';
// the structured baseline (Li et al. 2017), for the structured pipeline to call
export { l1NeuronValues, neuronL1Norms, largestNeurons, oneRowPerNeuron, rowsPerNeuron, type NeuronCut } from './l1-neurons.ts';
export type { ModelBackend, WeightValues } from './backend.ts';
export type { ModelLayer } from '../graph/layer.ts';
export { formatReport } from './report.ts';
export { InputError } from '../errors.ts';
export type { Feeds, TensorData } from '../onnx/inputs.ts';
// TensorFlow.js Layers models (src/tfjs/prune.ts imports pruneNetwork from here: a cycle that only
// re-exports, harmless in ES modules since nothing runs at load time).
export {
  pruneLayersModel, readLayersModel, writeLayersModel, encodeLayersModel, type LayersModelArtifacts, type LayersModelFile,
} from '../tfjs/prune.ts';

export interface PruneOptions {
  /** Held-out inputs and labels: top-1 accuracy of the trained, pruned and magnitude-pruned models. */
  evaluation?: { inputs: Feeds | TensorData; labels: TensorData };
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Stops the run: a solve in progress within one ADMM iteration, otherwise at the next stage. The
   * promise rejects with the signal's reason; nothing is returned or written.
   */
  signal?: AbortSignal;
}

/** A pruning run's products; `Written` is the format's model (ONNX: the model bytes). */
export interface PruneOutcome<Written = Uint8Array> {
  /** The pruned model: the original with only the pruned weight values changed. */
  model: Written;
  /** The magnitude-pruning baseline at the same per-layer nonzero counts. */
  magnitudeModel: Written;
  /** The Wanda baseline (|W| times input norm, per output) at the same per-layer nonzero counts. */
  wandaModel: Written;
  report: PruneReport;
  /** Kept-weight masks and the first layer's per-input counts, for the HTML report (report/html.ts). */
  figures: ReportFigures;
}

/**
 * Prunes every prunable layer of an ONNX model (a path, bytes or a parsed model) with Net-Trim,
 * using `calibration` inputs (a tensor for a one-input model, or tensors by input name).
 * Throws InputError on bad input before any long work; never writes files.
 */
export async function pruneModel(
  model: OnnxModel | Uint8Array | string, calibration: Feeds | TensorData, settings: Partial<PruneSettings> = {},
  options: PruneOptions = {},
): Promise<PruneOutcome> {
  const { weightFormat } = resolvePruneSettings(settings); // bad settings fail before the model is read
  const m = typeof model === 'string' ? await readModel(model) : model instanceof Uint8Array ? parseModel(model) : model;
  const outcome = await pruneNetwork(onnxBackend(m, weightFormat), calibration, settings, options);
  outcome.report.file = fileReport(weightFormat, outcome.model, m.bytes);
  return outcome;
}

/** pruneModel for any model backend: the same schemes, search, baseline, evaluation and report. */
export async function pruneNetwork<Written>(
  backend: ModelBackend<Written>, calibration: Feeds | TensorData, settings: Partial<PruneSettings> = {},
  options: PruneOptions = {},
): Promise<PruneOutcome<Written>> {
  const started = performance.now();
  const s = resolvePruneSettings(settings);
  const progress = options.onProgress ?? (() => {});
  const { layers, skipped } = backend;
  const feeds = asFeeds(backend.inputs, calibration, 'calibration');
  const samples = checkFeeds(backend.inputs, feeds, 'calibration');
  const batchSize = batchSizeFor(backend.inputs, samples, s.batchSize);
  const evaluation = options.evaluation ? checkEvaluation(backend.inputs, options.evaluation) : null;

  const trained = await backend.collectSignals(new Map(), layers, feeds, samples, {
    batchSize, maxColumns: s.maxColumns, seed: s.seed,
    onBatch: (done, total) => progress({ stage: 'signals', done, total, detail: 'trained network' }),
  });
  const pool = await SolverPool.create(s.threads === null ? {} : { threads: s.threads });
  const signal = options.signal;
  signal?.throwIfAborted();
  const ctx: PruneContext = { backend, layers, feeds, samples, settings: { ...s, batchSize }, pool, trained, progress, ...(signal ? { signal } : {}) };
  const scheme = s.scheme === 'cascade' ? solveCascade : solveParallel;
  let solution: NetworkSolution;
  let search: SearchReport | null = null;
  const tries: NetworkSolution[] = []; // kept for the per-try accuracy when there is evaluation data
  try {
    const onTry = (t: SearchTry, n: number) =>
      progress({ stage: 'search', done: n, total: s.maxSearchTries, detail: `eps ${t.epsilon.toPrecision(3)}: removed ${(100 * t.removedFraction).toFixed(1)}%` });
    if (s.sparsity === null) {
      solution = await scheme(ctx, s.epsilon, null);
    } else if (s.scheme === 'parallel' && s.allocation === 'sensitivity') {
      // the path's uniform networks are the accuracy curve's points
      ({ solution, report: search } = await allocateSparsity(ctx, s.sparsity, s.sparsityTolerance, onTry, (solved) => {
        if (evaluation) tries.push(solved);
      }));
    } else {
      const solveTry = async (g: number, warm: NetworkSolution | null) => {
        const solved = await scheme(ctx, g, warm);
        if (evaluation) tries.push(solved);
        return solved;
      };
      const found = await searchSparsity(solveTry, {
        target: s.sparsity, tolerance: s.sparsityTolerance, start: s.epsilon, maxTries: s.maxSearchTries, mixLayers: s.scheme === 'parallel',
        onTry,
      });
      solution = found.solution;
      search = found.report;
    }
  } finally {
    await pool.close();
  }
  // Parallel: the refit changes no nonzero count, so it runs once, on the chosen solution, layer
  // by layer on the refit network's signals (schemes.ts refitSequential). The cascade refits each
  // layer as it goes (its later layers must see the refit ones).
  if (s.refit && s.scheme === 'parallel') solution = await refitSequential(ctx, solution);

  signal?.throwIfAborted();
  const pruned = solvedValues(solution.layers);
  const magnitude = magnitudeValues(backend, solution.layers);
  const wanda = wandaValues(backend, solution.layers, trained);
  progress({ stage: 'evaluate', done: 0, total: evaluation ? 2 : 1, detail: 'output change' });
  const before = await backend.runOutputs(new Map(), backend.source, feeds, samples, batchSize);
  const after = await backend.runOutputs(pruned, `${backend.source} (pruned)`, feeds, samples, batchSize);
  const maxOutputChange = maxRelativeChange(before, after, samples);
  let evalReport: EvalReport | null = null;
  if (evaluation) {
    progress({ stage: 'evaluate', done: 1, total: 2, detail: 'accuracy' });
    // SparseGPT costs an n x n inverse per layer: built only when it is evaluated
    const sparseGpt = sparseGptValues(backend, solution.layers, trained);
    evalReport = await evaluate(backend, pruned, { magnitude, wanda, sparseGpt }, evaluation, s.batchSize);
    if (tries.length > 0) {
      progress({ stage: 'evaluate', done: 1, total: 2, detail: `accuracy of the ${tries.length} search tries` });
      evalReport.tries = await evaluateTries(backend, tries, trained, evaluation, s.batchSize, signal);
    }
  }
  progress({ stage: 'evaluate', done: evaluation ? 2 : 1, total: evaluation ? 2 : 1, detail: 'done' });
  const report = buildReport({
    model: backend.source, settings: s, calibrationSamples: samples, solution,
    nnzBefore: layers.map((l) => countNonzero(backend.weightValues(l.weight))), skipped: [...skipped], search, maxOutputChange,
    evaluation: evalReport, seconds: (performance.now() - started) / 1000, threads: pool.threads,
  });
  const figures = buildFigures(backend.inputs, solution.layers);
  return { model: backend.write(pruned), magnitudeModel: backend.write(magnitude), wandaModel: backend.write(wanda), report, figures };
}

/**
 * Top-1 accuracy of each sparsity-search try (as solved, before any refit) and of the baselines
 * at that try's per-layer counts: the points of the report's accuracy-against-kept-fraction chart.
 */
async function evaluateTries(
  backend: ModelBackend, tries: readonly NetworkSolution[], trained: readonly LayerSignals[], e: CheckedEvaluation, requestedBatch: number,
  signal?: AbortSignal,
): Promise<EvalTry[]> {
  const points: EvalTry[] = [];
  const before = await backend.runOutputs(new Map(), backend.source, e.feeds, e.samples, batchSizeFor(backend.inputs, e.samples, requestedBatch));
  for (const t of tries) {
    signal?.throwIfAborted();
    const values = {
      magnitude: magnitudeValues(backend, t.layers), wanda: wandaValues(backend, t.layers, trained),
      sparseGpt: sparseGptValues(backend, t.layers, trained),
    };
    const r = await evaluate(backend, solvedValues(t.layers), values, e, requestedBatch, before);
    points.push({
      epsilon: t.epsilon, keptFraction: 1 - removedFraction(t), accuracy: r.accuracyAfter,
      accuracyMagnitude: r.accuracyMagnitude, accuracyWanda: r.accuracyWanda, accuracySparseGpt: r.accuracySparseGpt,
    });
  }
  return points;
}

interface CheckedEvaluation {
  feeds: Feeds;
  samples: number;
  labels: TensorData;
}

function asFeeds(model: readonly ModelInput[], data: Feeds | TensorData, what: string): Feeds {
  if (data instanceof Map) return data;
  const inputs = modelInputs(model);
  if (inputs.length !== 1) {
    throw new InputError(`the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}): give ${what} data for each by name`);
  }
  return new Map([[inputs[0]!.name, data as TensorData]]);
}

/** Checks evaluation inputs and label count up front, so a bad file fails before the solve. */
function checkEvaluation(model: readonly ModelInput[], e: NonNullable<PruneOptions['evaluation']>): CheckedEvaluation {
  const feeds = asFeeds(model, e.inputs, 'evaluation');
  const samples = checkFeeds(model, feeds, 'evaluation');
  if (e.labels.shape[0] !== samples) {
    throw new InputError(`${e.labels.source ?? 'labels'}: ${e.labels.shape[0]} labels for ${samples} evaluation samples`);
  }
  const bad = e.labels.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(`${e.labels.source ?? 'labels'}: value ${e.labels.data[bad]} at index ${bad}`);
  return { feeds, samples, labels: e.labels };
}

async function evaluate(
  backend: ModelBackend, pruned: WeightValues, baselines: { magnitude: WeightValues; wanda: WeightValues; sparseGpt: WeightValues },
  e: CheckedEvaluation, requestedBatch: number, trainedOutputs?: Outputs,
): Promise<EvalReport> {
  const batch = batchSizeFor(backend.inputs, e.samples, requestedBatch);
  const before = trainedOutputs ?? await backend.runOutputs(new Map(), backend.source, e.feeds, e.samples, batch);
  const after = await backend.runOutputs(pruned, `${backend.source} (pruned)`, e.feeds, e.samples, batch);
  const baseline = await backend.runOutputs(baselines.magnitude, `${backend.source} (magnitude)`, e.feeds, e.samples, batch);
  const wanda = await backend.runOutputs(baselines.wanda, `${backend.source} (Wanda)`, e.feeds, e.samples, batch);
  const sparseGpt = await backend.runOutputs(baselines.sparseGpt, `${backend.source} (SparseGPT)`, e.feeds, e.samples, batch);
  const first = [...before.keys()][0]!;
  const scores = before.get(first)!;
  const labels = labelIndices(e.labels, e.samples, scores.length / e.samples);
  return {
    samples: e.samples,
    accuracyBefore: topOneAccuracy(scores, labels),
    accuracyAfter: topOneAccuracy(after.get(first)!, labels),
    accuracyMagnitude: topOneAccuracy(baseline.get(first)!, labels),
    accuracyWanda: topOneAccuracy(wanda.get(first)!, labels),
    accuracySparseGpt: topOneAccuracy(sparseGpt.get(first)!, labels),
    maxOutputChange: maxRelativeChange(before, after, e.samples),
    maxOutputChangeMagnitude: maxRelativeChange(before, baseline, e.samples),
    maxOutputChangeWanda: maxRelativeChange(before, wanda, e.samples),
    maxOutputChangeSparseGpt: maxRelativeChange(before, sparseGpt, e.samples),
  };
}

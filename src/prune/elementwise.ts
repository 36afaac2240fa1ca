// The element-wise pipeline (structure 'weights') for any model backend (prune/backend.ts):
// signals of the trained network, the scheme (parallel or cascade) at one epsilon, a sparsity
// search or the sensitivity allocation, the refit, the baselines, the evaluation and the report.
// network.ts chooses between it and the structured pipeline (structured.ts), which also runs it
// inside the neurons it keeps.
import { countNonzero } from '../graph/weights.ts';
import { SolverPool } from '../layer/pool.ts';
import { batchSizeFor, checkFeeds, type Feeds, type TensorData } from '../onnx/inputs.ts';
import { buildFigures } from '../report/figures.ts';
import { allocateSparsity } from './allocate.ts';
import type { LayerSignals, ModelBackend } from './backend.ts';
import { asFeeds, checkEvaluation, evaluate, type CheckedEvaluation } from './evaluation.ts';
import { maxRelativeChange } from './evaluate.ts';
import { magnitudeValues } from './magnitude.ts';
import type { PruneOptions, PruneOutcome } from './outcome.ts';
import { buildReport } from './report.ts';
import { refitSequential, solveCascade, solveParallel, solvedValues, type NetworkSolution, type PruneContext } from './schemes.ts';
import { removedFraction, searchSparsity } from './search.ts';
import { resolvePruneSettings } from './settings.ts';
import { sparseGptValues } from './sparsegpt.ts';
import type { EvalReport, EvalTry, PruneSettings, SearchReport, SearchTry } from './types.ts';
import { wandaValues } from './wanda.ts';

/** Net-Trim on single weights of every prunable layer of `backend`'s model. */
export async function pruneWeights<Written>(
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

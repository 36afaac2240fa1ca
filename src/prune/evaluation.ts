// The held-out evaluation of a pruned network: its inputs and labels checked up front (so a bad
// file fails before any solve), then top-1 accuracy and output change of the trained model, the
// pruned one and the baselines at the same per-layer counts, each run in the format's own runtime.
import { InputError } from '../errors.ts';
import { batchSizeFor, checkFeeds, modelInputs, type Feeds, type ModelInput, type TensorData } from '../onnx/inputs.ts';
import type { ModelBackend, Outputs, WeightValues } from './backend.ts';
import { labelIndices, maxRelativeChange, topOneAccuracy } from './evaluate.ts';
import type { EvalReport } from './types.ts';

/** Held-out inputs (a tensor for a one-input model, or tensors by input name) and their labels. */
export interface Evaluation {
  inputs: Feeds | TensorData;
  labels: TensorData;
}

export interface CheckedEvaluation {
  feeds: Feeds;
  samples: number;
  labels: TensorData;
}

export function asFeeds(model: readonly ModelInput[], data: Feeds | TensorData, what: string): Feeds {
  if (data instanceof Map) return data;
  const inputs = modelInputs(model);
  if (inputs.length !== 1) {
    throw new InputError(`the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}): give ${what} data for each by name`);
  }
  return new Map([[inputs[0]!.name, data as TensorData]]);
}

/** Checks evaluation inputs and label count up front, so a bad file fails before the solve. */
export function checkEvaluation(model: readonly ModelInput[], e: Evaluation): CheckedEvaluation {
  const feeds = asFeeds(model, e.inputs, 'evaluation');
  const samples = checkFeeds(model, feeds, 'evaluation');
  if (e.labels.shape[0] !== samples) {
    throw new InputError(`${e.labels.source ?? 'labels'}: ${e.labels.shape[0]} labels for ${samples} evaluation samples`);
  }
  const bad = e.labels.data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new InputError(`${e.labels.source ?? 'labels'}: value ${e.labels.data[bad]} at index ${bad}`);
  return { feeds, samples, labels: e.labels };
}

export async function evaluate(
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

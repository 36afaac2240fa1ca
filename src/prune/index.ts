// pruneModel: an ONNX model and calibration inputs in, the pruned model and a report out.
// pruneNetwork does the work for any model backend (prune/backend.ts): ONNX here, TensorFlow.js
// Layers models in src/tfjs/prune.ts.
import { onnxBackend } from '../onnx/backend.ts';
import type { Feeds, TensorData } from '../onnx/inputs.ts';
import { parseModel, readModel, type OnnxModel } from '../onnx/model.ts';
import { pruneNetwork } from './network.ts';
import type { PruneOptions, PruneOutcome } from './outcome.ts';
import { fileReport } from './report.ts';
import { resolvePruneSettings } from './settings.ts';
import type { PruneSettings } from './types.ts';

export { DEFAULT_PRUNE_SETTINGS } from './types.ts';
export type {
  PruneSettings, PruneReport, LayerReport, EvalReport, EvalTry, SearchReport, ProgressEvent, Scheme, WeightFormat, FileReport,
  Structure, KeepTarget, StructureReport, NeuronLayerReport,
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
export { pruneNetwork } from './network.ts';
export type { PruneOptions, PruneOutcome } from './outcome.ts';
export type { Evaluation } from './evaluation.ts';
// TensorFlow.js Layers models
export {
  pruneLayersModel, readLayersModel, writeLayersModel, encodeLayersModel, type LayersModelArtifacts, type LayersModelFile,
} from '../tfjs/prune.ts';

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


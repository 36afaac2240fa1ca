// pruneLayersModel: a TensorFlow.js Layers model (model.json and its shards) and calibration inputs
// in, the pruned model (model.json text and float32 shards, see write.ts) and the report out: the
// pipeline, settings and report of pruneModel, through the TensorFlow.js backend.
import type { Feeds, TensorData } from '../onnx/inputs.ts';
import { pruneNetwork } from '../prune/network.ts';
import type { PruneOptions, PruneOutcome } from '../prune/outcome.ts';
import { resolvePruneSettings } from '../prune/settings.ts';
import type { PruneSettings } from '../prune/types.ts';
import { tfjsBackend } from './backend.ts';
import { readLayersModel, type LayersModelFile } from './model.ts';
import { loadTensorFlow } from './runtime.ts';
import type { LayersModelArtifacts } from './write.ts';

export { readLayersModel, decodeLayersModel, type LayersModelFile, type WeightEntry } from './model.ts';
export { encodeLayersModel, writeLayersModel, layersOutputPaths, type LayersModelArtifacts } from './write.ts';

/**
 * Prunes the Dense and Conv2D layers of a TensorFlow.js Layers model (the path of model.json or of
 * its directory, or a read model) with Net-Trim. Signals come from @tensorflow/tfjs (a peer
 * dependency). Throws InputError on bad input before any long work; never writes files.
 */
export async function pruneLayersModel(
  model: LayersModelFile | string, calibration: Feeds | TensorData, settings: Partial<PruneSettings> = {},
  options: PruneOptions = {},
): Promise<PruneOutcome<LayersModelArtifacts>> {
  resolvePruneSettings(settings); // bad settings fail before the model is read
  const file = typeof model === 'string' ? await readLayersModel(model) : model;
  const backend = tfjsBackend(file);
  await loadTensorFlow();
  return pruneNetwork(backend, calibration, settings, options);
}

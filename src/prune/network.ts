// pruneNetwork: pruneModel (ONNX, index.ts) and pruneLayersModel (TensorFlow.js, tfjs/prune.ts)
// for any model backend (prune/backend.ts): single weights (elementwise.ts) or whole neurons and
// channels (structured.ts), as the settings' `structure` says.
import type { Feeds, TensorData } from '../onnx/inputs.ts';
import type { ModelBackend } from './backend.ts';
import { pruneWeights } from './elementwise.ts';
import type { PruneOptions, PruneOutcome } from './outcome.ts';
import { resolvePruneSettings } from './settings.ts';
import { pruneNeurons } from './structured.ts';
import type { PruneSettings } from './types.ts';

/** Prunes `backend`'s model: the same schemes, search, baselines, evaluation and report for every format. */
export async function pruneNetwork<Written>(
  backend: ModelBackend<Written>, calibration: Feeds | TensorData, settings: Partial<PruneSettings> = {},
  options: PruneOptions = {},
): Promise<PruneOutcome<Written>> {
  const s = resolvePruneSettings(settings);
  return s.structure === 'neurons' ? pruneNeurons(backend, calibration, s, options) : pruneWeights(backend, calibration, s, options);
}

// The ONNX model backend (prune/backend.ts): layers from layers.ts, signals and outputs from
// onnxruntime on the model bytes with some initializers patched, the pruned model as bytes.
import type { ModelBackend, WeightValues } from '../prune/backend.ts';
import type { ModelLayer } from '../graph/layer.ts';
import { runOutputs } from '../prune/evaluate.ts';
import { indexGraph, upstreamTensors } from './graph.ts';
import { modelInputs } from './inputs.ts';
import { requireLayers } from './layers.ts';
import { initializerValues, type OnnxModel } from './model.ts';
import { patchInitializers } from './patch.ts';
import { writeSparse } from './sparse.ts';
import type { WeightFormat } from '../prune/types.ts';
import { shrinkOnnx } from './shrink.ts';
import { collectSignals } from './signals.ts';

/** The backend of one ONNX model, writing weights as `weightFormat` says; an InputError when it has no prunable layer. */
export function onnxBackend(model: OnnxModel, weightFormat: WeightFormat = 'dense'): ModelBackend<Uint8Array> {
  const { layers, skipped } = requireLayers(model);
  const index = indexGraph(model.graph);
  const upstream = new Map<ModelLayer, Set<string>>();
  const bytesWith = (values: WeightValues): Uint8Array => (values.size === 0 ? model.bytes : patchInitializers(model, values));
  return {
    source: model.source,
    layers,
    skipped,
    inputs: modelInputs(model),
    weightValues: (name) => initializerValues(model, name),
    reaches(from, layer) {
      if (!upstream.has(layer)) upstream.set(layer, upstreamTensors(index, layer.input));
      return upstream.get(layer)!.has(from.weight);
    },
    collectSignals: (values, wanted, feeds, samples, options) =>
      collectSignals(bytesWith(values), model.source, wanted, feeds, samples, options),
    runOutputs: (values, label, feeds, samples, batchSize) => runOutputs(bytesWith(values), label, feeds, samples, batchSize),
    write: (values) => (weightFormat === 'dense'
      ? patchInitializers(model, values)
      : writeSparse(model, values, weightFormat === 'sparse' ? 'compact' : 'int64').bytes),
    shrink: (values) => shrinkOnnx(model, layers, values, weightFormat),
  };
}

// The TensorFlow.js Layers model backend (prune/backend.ts): layers from layers.ts, signals and
// outputs from TensorFlow.js (runtime.ts) on the model with some weights replaced, the pruned
// model as model.json text plus float32 shards (write.ts).
import type { LayerSignals, ModelBackend } from '../prune/backend.ts';
import { Collector } from '../onnx/signals.ts';
import { findTfjsLayers, type TfjsLayer } from './layers.ts';
import { upstreamLayers } from './topology.ts';
import type { LayersModelFile } from './model.ts';
import { TfjsModel } from './runtime.ts';
import { shrinkLayersModel } from './shrink.ts';
import { encodeLayersModel, type LayersModelArtifacts } from './write.ts';

/** The backend of one Layers model; an InputError when it has no prunable layer. */
export function tfjsBackend(file: LayersModelFile): ModelBackend<LayersModelArtifacts> {
  const { layers, skipped, topology } = findTfjsLayers(file);
  const weights = new Map(file.weights.map((w) => [w.name, w]));
  const upstream = new Map<string, Set<string>>();
  return {
    source: file.source,
    layers,
    skipped,
    inputs: topology.inputs,
    weightValues(name) {
      const w = weights.get(name);
      if (!w || w.dtype !== 'float32') throw new Error(`${file.source}: no float32 weight named '${name}'`);
      return Float32Array.from(w.values);
    },
    reaches(from, layer) {
      if (!upstream.has(layer.name)) upstream.set(layer.name, upstreamLayers(topology, layer.input));
      return upstream.get(layer.name)!.has(from.name);
    },
    async collectSignals(values, wanted, feeds, samples, options) {
      const model = await TfjsModel.load(file, topology, values, file.source);
      const collectors = wanted.map((layer) => new Collector(layer, samples, options));
      try {
        await model.forEachSignalBatch(wanted as TfjsLayer[], feeds, samples, options.batchSize, (signals, start, count) => {
          signals.forEach((s, k) => collectors[k]!.add(s.x, s.z, start, count, s.skip));
          options.onBatch?.(start + count, samples);
        });
      } finally {
        model.dispose();
      }
      return collectors.map((c): LayerSignals => c.finish());
    },
    async runOutputs(values, label, feeds, samples, batchSize) {
      const model = await TfjsModel.load(file, topology, values, label);
      const parts = new Map<string, Float32Array[]>(topology.outputs.map((name) => [name, []]));
      try {
        await model.forEachBatch(feeds, samples, batchSize, (outputs) => {
          for (const [name, t] of outputs) parts.get(name)!.push(t.data);
        });
      } finally {
        model.dispose();
      }
      return new Map([...parts].map(([name, list]) => [name, concat(list)]));
    },
    write: (values) => encodeLayersModel(file, values),
    shrink: (values) => shrinkLayersModel(file, topology, layers, values),
  };
}

function concat(list: Float32Array[]): Float32Array {
  const out = new Float32Array(list.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of list) {
    out.set(a, offset);
    offset += a.length;
  }
  return out;
}

// Network surgery on a TensorFlow.js Layers model (issue 10 item 2): graph/shrink.ts says which
// output channels of each layer stay; this file slices the manifest weights that hold them (Dense
// kernel columns, Conv2D filters, DepthwiseConv2D channels, biases, BatchNormalization's four
// vectors, PReLU slopes, the readers' kernel rows or input channels), sets the layer configs
// that carry the counts (Dense `units`, Conv2D `filters` and `groups`), and writes model.json and
// its shards with write.ts. tf.loadLayersModel rebuilds the layers from the configs, so every
// shape follows.
import { channelWalks, planShrink, type ChannelLayout, type ChannelStep, type LayerCut, type NeuronCount, type ShrinkOutcome, type ShrinkRules, type Walk } from '../graph/shrink.ts';
import type { GraphOp } from '../graph/model.ts';
import { countKept, keptIndices, sliceAxis, type DenseTensor } from '../graph/shrink-tensor.ts';
import type { ModelLayer } from '../graph/layer.ts';
import type { WeightValues } from '../prune/backend.ts';
import { InputError } from '../errors.ts';
import { tfjsModelGraph } from './graph-model.ts';
import type { Topology, TopologyLayer } from './topology.ts';
import { isObject, type LayersModelFile, type WeightEntry } from './model.ts';
import { encodeLayersModel, type LayersModelArtifacts } from './write.ts';

/** Layers that act on each channel on its own (channels_last). */
const PASS = new Set(['Dropout', 'SpatialDropout2D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout', 'ELU', 'ThresholdedReLU']);
const POOLING = new Set(['MaxPooling2D', 'AveragePooling2D', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'MaxPool2D', 'AvgPool2D', 'GlobalAvgPool2D', 'GlobalMaxPool2D']);
/** Merge layers that combine their inputs element by element. */
const JOINS = new Set(['Add', 'Subtract', 'Multiply', 'Maximum', 'Minimum', 'Average']);
/** Activations that mix the channels (a dead unit still counts in the normalisation). */
const MIXING = new Set(['softmax', 'logSoftmax', 'log_softmax']);
/** Per-channel weights of the layers on a path, by class. */
const PATH_WEIGHTS: Readonly<Record<string, readonly string[]>> = {
  BatchNormalization: ['gamma', 'beta', 'moving_mean', 'moving_variance'],
  PReLU: ['alpha'],
};

/** The model with `values` in place of the trained weights and every output channel nothing needs cut out. */
export function shrinkLayersModel(
  file: LayersModelFile, topology: Topology, layers: readonly ModelLayer[], values: WeightValues,
): ShrinkOutcome<LayersModelArtifacts> {
  const byName = new Map(topology.layers.map((l) => [l.name, l]));
  const entries = new Map(file.weights.map((w) => [w.name, w]));
  const graph = tfjsModelGraph(topology, entries);
  const cuts = planShrink(graph, tfjsShrinkRules(byName), layers, values, (name) => Float32Array.from(entries.get(name)!.values));
  const tensors = new Map<string, DenseTensor>();
  const get = (name: string): DenseTensor => {
    let t = tensors.get(name);
    if (!t) {
      const w = entries.get(name);
      if (!w || w.dtype !== 'float32') throw new InputError(`${file.source}: cannot write weight '${name}': no float32 weight of that name in the manifest`);
      const v = values.get(name) ?? Float32Array.from(w.values);
      if (v.length !== w.values.length) throw new Error(`weight '${name}' holds ${w.values.length} values, cannot write ${v.length}`);
      t = { values: v, dims: w.shape.slice() };
      tensors.set(name, t);
    }
    return t;
  };
  for (const name of values.keys()) get(name);
  const slice = (name: string, axis: number, keep: readonly number[]) => tensors.set(name, sliceAxis(get(name), axis, keep));
  const layerWeights = (cut: LayerCut) => [cut.layer.weight, ...(cut.layer.bias ? [cut.layer.bias] : []), ...cut.path.flatMap(({ op }) => pathWeights(op, entries))];
  const params = (cut: LayerCut) => layerWeights(cut).reduce((n, name) => n + get(name).values.length, 0);
  const before = cuts.map(params);
  const weightsBefore = cuts.map((cut) => get(cut.layer.weight).values.length);
  const configs = new Map<string, Record<string, number>>();
  for (const cut of cuts) {
    const { layer, kept } = cut;
    const keep = keptIndices(kept);
    if (keep.length === kept.length) continue;
    if (layer.op === 'DepthwiseConv2D') {
      const multiplier = layer.outputSize;
      slice(layer.weight, 2, keptIndices(Array.from({ length: layer.groups }, (_, g) => kept[g * multiplier]!)));
    } else {
      slice(layer.weight, layer.op === 'Dense' ? 1 : 3, keep);
      configs.set(layer.name, layer.op === 'Dense' ? { units: keep.length } : { filters: keep.length, ...(layer.groups > 1 ? { groups: keep.length / layer.outputSize } : {}) });
    }
    if (layer.bias) slice(layer.bias, 0, keep);
    for (const { op } of cut.path) {
      for (const name of pathWeights(op, entries)) {
        const t = get(name);
        if (t.values.length > 1) slice(name, t.dims.length - 1, keep);
      }
    }
    for (const { layer: reader, rowChannel } of cut.readers) {
      if (reader.groups > 1) continue; // its dropped groups are its own output cut
      if (reader.op === 'Dense') slice(reader.weight, 0, keptIndices(rowChannel.map((ch) => (ch < 0 || kept[ch] ? 1 : 0))));
      else slice(reader.weight, 2, keep);
    }
  }
  const counts = cuts.map((cut, k): NeuronCount => ({
    name: cut.layer.name, op: cut.layer.op, before: cut.kept.length, after: countKept(cut.kept), keptDead: cut.keptDead, reason: cut.reason,
    paramsBefore: before[k]!, paramsAfter: params(cut),
    weightsBefore: weightsBefore[k]!, weightsAfter: get(cut.layer.weight).values.length,
  }));
  const weights = file.weights.map((w): WeightEntry => {
    const t = tensors.get(w.name);
    return t ? { ...w, shape: t.dims, values: t.values, quantized: null } : w;
  });
  const json = withConfigs(file.json, configs);
  const model = encodeLayersModel({ ...file, json, weights });
  const floats = (list: readonly WeightEntry[]) => list.reduce((n, w) => n + (w.dtype === 'float32' ? w.values.length : 0), 0);
  return { model, layers: counts, paramsBefore: floats(file.weights), paramsAfter: floats(weights) };
}

/** Where each layer's channels go in the model (graph/shrink.ts channelWalks): readers with their row -> channel maps. */
export function tfjsChannelWalks(file: LayersModelFile, topology: Topology, layers: readonly ModelLayer[]): Walk[] {
  const graph = tfjsModelGraph(topology, new Map(file.weights.map((w) => [w.name, w])));
  return channelWalks(graph, tfjsShrinkRules(new Map(topology.layers.map((l) => [l.name, l]))), layers);
}

/** The Layers classes the neutral walk cannot judge by kind: pooling, Flatten, dropout, mixing activations. */
export function tfjsShrinkRules(byName: ReadonlyMap<string, TopologyLayer>): ShrinkRules {
  return {
    joins: (op) => JOINS.has(op.op),
    keepAll(layer: ModelLayer): string | null {
      const a = byName.get(layer.name)?.config.activation;
      return typeof a === 'string' && MIXING.has(a) ? `its own ${a} activation mixes the neurons` : null;
    },
    step(op: GraphOp, layout: ChannelLayout): ChannelStep | null {
      const l = byName.get(op.name);
      if (!l || l.inbound.length !== 1) return { kind: 'stop', reason: `${op.op} '${op.name}' is applied more than once` };
      const flat = layout === 'flat-first' || layout === 'flat-last';
      if (op.op === 'Activation') {
        const a = l.config.activation;
        return typeof a === 'string' && MIXING.has(a) ? { kind: 'stop', reason: `${op.op} '${op.name}' (${a}) mixes the channels` } : { kind: 'pass' };
      }
      if (PASS.has(op.op)) return { kind: 'pass' };
      if (POOLING.has(op.op)) {
        const channelsLast = (l.config.data_format ?? 'channels_last') === 'channels_last';
        return channelsLast && !flat ? { kind: 'pass' } : { kind: 'stop', reason: `${op.op} '${op.name}' does not pool channels_last images` };
      }
      if (op.op === 'Flatten') return flat ? { kind: 'stop', reason: `${op.op} '${op.name}' flattens twice` } : { kind: 'flatten' };
      if (op.op === 'BatchNormalization' || op.op === 'PReLU') return op.kind.kind === 'other' ? { kind: 'stop', reason: `${op.op} '${op.name}' is not per channel` } : null;
      return null;
    },
  };
}

/** The manifest names of a path layer's per-channel weights. */
function pathWeights(op: GraphOp, entries: ReadonlyMap<string, WeightEntry>): string[] {
  return (PATH_WEIGHTS[op.op] ?? []).map((kind) => `${op.name}/${kind}`).filter((name) => entries.has(name));
}

/** model.json with the given config fields set on the named layers (a copy; the input is not modified). */
function withConfigs(json: Readonly<Record<string, unknown>>, configs: ReadonlyMap<string, Record<string, number>>): Record<string, unknown> {
  const copy = structuredClone(json) as Record<string, unknown>;
  let topology = copy.modelTopology as Record<string, unknown>;
  if (isObject(topology.model_config)) topology = topology.model_config;
  const config = topology.config;
  const list = (Array.isArray(config) ? config : isObject(config) ? config.layers : []) as unknown[];
  const done = new Set<string>();
  for (const layer of list) {
    if (!isObject(layer) || !isObject(layer.config)) continue;
    const name = layer.config.name ?? layer.name;
    const set = typeof name === 'string' ? configs.get(name) : undefined;
    if (!set) continue;
    Object.assign(layer.config, set);
    done.add(name as string);
  }
  const missing = [...configs.keys()].filter((n) => !done.has(n));
  if (missing.length > 0) throw new Error(`nettrim: layers ${missing.join(', ')} not found in modelTopology`);
  return copy;
}

// Prunable layer discovery in a TensorFlow.js Layers topology (Sequential or functional): Dense
// and channels-last Conv2D. What follows a layer up to its activation (its own relu or relu6, or
// BatchNormalization, Add and ReLU layers after it) is found by graph/follow.ts on the
// format-neutral graph (graph-model.ts); other activations make the program linear on the layer's
// pre-activation. Every other layer that owns weights is listed in `skipped` with the reason.
import { InputError } from '../errors.ts';
import { followLayer, plainStructure } from '../graph/follow.ts';
import type { ConvParams, LayerStructure, ModelLayer, SkippedLayer } from '../graph/layer.ts';
import type { ModelGraph } from '../graph/model.ts';
import { jsonText } from '../io/format.ts';
import { activationKind, tfjsModelGraph } from './graph-model.ts';
import type { LayersModelFile, WeightEntry } from './model.ts';
import { parseTopology, type Topology, type TopologyLayer } from './topology.ts';

/** A prunable TensorFlow.js layer. Its `name` is the layer's name in the topology. */
export interface TfjsLayer extends ModelLayer {
  op: 'Dense' | 'Conv2D' | 'DepthwiseConv2D';
}

export interface TfjsDiscovery {
  layers: TfjsLayer[];
  skipped: SkippedLayer[];
  topology: Topology;
}

const MODEL_CLASSES = new Set(['Sequential', 'Model', 'Functional']);
/** Layer classes that own weights (a layer with manifest weights under its name counts too). */
const WEIGHTED = new Set([
  'Dense', 'Conv1D', 'Conv2D', 'Conv3D', 'Conv2DTranspose', 'Conv3DTranspose', 'DepthwiseConv2D', 'SeparableConv1D',
  'SeparableConv2D', 'ConvLSTM2D', 'Embedding', 'LSTM', 'GRU', 'SimpleRNN', 'RNN', 'Bidirectional', 'TimeDistributed',
  'BatchNormalization', 'LayerNormalization', 'PReLU',
]);

/** Finds the prunable layers; an InputError when there is none (the message lists why). */
export function findTfjsLayers(file: LayersModelFile): TfjsDiscovery {
  const topology = parseTopology(file);
  const weights = new Map(file.weights.map((w) => [w.name, w]));
  const graph = tfjsModelGraph(topology, weights);
  const layers: TfjsLayer[] = [];
  const skipped: SkippedLayer[] = [];
  for (const l of topology.layers) {
    if (l.className === 'InputLayer') continue;
    let found: Omit<TfjsLayer, 'index'> | string | null;
    if (l.className === 'Dense' || l.className === 'Conv2D' || l.className === 'DepthwiseConv2D') {
      found = prunable(l, weights, graph);
    } else if (MODEL_CLASSES.has(l.className)) {
      found = `a nested model: the layers inside it are not pruned`;
    } else {
      found = WEIGHTED.has(l.className) || ownsWeights(l.name, file.weights) ? `${l.className} is not a prunable layer` : null;
    }
    if (typeof found === 'string') skipped.push({ name: l.name, op: l.className, reason: found });
    else if (found) layers.push({ ...found, index: layers.length });
  }
  // a BatchNormalization folded into a layer's program is part of that layer, not left alone
  const covered = new Set(layers.flatMap((l) => l.structure.ops));
  for (let i = skipped.length - 1; i >= 0; i--) if (covered.has(skipped[i]!.name)) skipped.splice(i, 1);
  if (layers.length === 0) {
    const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
    throw new InputError(`${file.source}: no prunable layer (Dense, Conv2D or DepthwiseConv2D)${why ? `; skipped: ${why}` : ''}`);
  }
  return { layers, skipped, topology };
}

/**
 * What the layer's program keeps: its own relu or relu6, or (a linear layer) what follows it in the
 * graph; any other activation leaves a linear program on the pre-activation, which the runtime
 * computes for us.
 */
function structureOf(l: TopologyLayer, graph: ModelGraph, layer: Omit<TfjsLayer, 'index' | 'structure' | 'activation'>): LayerStructure {
  const a = l.config.activation ?? 'linear';
  const inside = activationKind(a);
  if (inside.kind === 'clip') {
    const clip = { min: inside.min, max: inside.max };
    return { affine: null, skip: null, clip, ops: [], reason: `${a} (the layer's own activation)` };
  }
  if (inside.kind === 'affine') return followLayer(graph, { ...layer, index: -1, activation: 'linear', structure: plainStructure('') });
  return plainStructure(`linear: the layer's own activation ${jsonText(a)} is not piecewise linear, so the program fits its input`);
}

function prunable(l: TopologyLayer, weights: ReadonlyMap<string, WeightEntry>, graph: ModelGraph): Omit<TfjsLayer, 'index'> | string {
  const found = layerRecord(l, weights);
  if (typeof found === 'string') return found;
  const structure = structureOf(l, graph, found);
  return { ...found, nodes: [l.name, ...structure.ops], structure, activation: structure.clip ? 'relu' : 'linear' };
}

function layerRecord(l: TopologyLayer, weights: ReadonlyMap<string, WeightEntry>): Omit<TfjsLayer, 'index' | 'structure' | 'activation'> | string {
  if (l.inbound.length !== 1) return `applied ${l.inbound.length} times: shared layers are not pruned`;
  if (l.inbound[0]!.length !== 1) return `reads ${l.inbound[0]!.length} tensors`;
  const depthwise = l.className === 'DepthwiseConv2D';
  const kernel = weightOf(weights, l.name, depthwise ? 'depthwise_kernel' : 'kernel');
  if (typeof kernel === 'string') return kernel;
  const useBias = l.config.use_bias !== false;
  const bias = useBias ? weightOf(weights, l.name, 'bias') : null;
  if (typeof bias === 'string') return bias;
  const common = {
    name: l.name, nodes: [l.name], input: l.inbound[0]![0]!, output: l.name,
    weight: kernel.name, bias: bias?.name ?? null, weightDims: kernel.shape,
  };
  if (l.className === 'Dense') {
    if (kernel.shape.length !== 2) return `kernel '${kernel.name}' has shape [${kernel.shape}], expected [inputs, units]`;
    const [n, m] = kernel.shape as [number, number];
    if (bias && bias.shape.join() !== String(m)) return `bias '${bias.name}' has shape [${bias.shape}], expected [${m}]`;
    return { ...common, op: 'Dense', inputSize: n, outputSize: m, groups: 1 };
  }
  // A depthwise kernel [kh, kw, C, multiplier] is a grouped Conv2D kernel [kh, kw, 1, C multiplier]
  // with C groups, the same values in the same order.
  const conv = depthwise ? depthwiseParams(l.config, kernel) : convParams(l.config, kernel);
  if (typeof conv === 'string') return conv;
  if (bias && bias.shape.join() !== String(conv.outChannels)) return `bias '${bias.name}' has shape [${bias.shape}], expected [${conv.outChannels}]`;
  return {
    ...common, op: depthwise ? 'DepthwiseConv2D' : 'Conv2D', conv, layout: 'nhwc', groups: conv.group,
    inputSize: conv.kernel[0] * conv.kernel[1] * (conv.inChannels / conv.group), outputSize: conv.outChannels / conv.group,
  };
}

/** DepthwiseConv2D as a Conv2D with one group per input channel. */
function depthwiseParams(c: Record<string, unknown>, kernel: WeightEntry): ConvParams | string {
  if (kernel.shape.length !== 4) return `kernel '${kernel.name}' has shape [${kernel.shape}], expected [kh, kw, channels, depth multiplier]`;
  const [kh, kw, channels, multiplier] = kernel.shape as [number, number, number, number];
  return convParams({ ...c, groups: channels }, { ...kernel, shape: [kh, kw, 1, channels * multiplier] });
}

/** Conv2D config as the shared ConvParams: TensorFlow's 'same' pads like ONNX SAME_UPPER. */
function convParams(c: Record<string, unknown>, kernel: WeightEntry): ConvParams | string {
  if ((c.data_format ?? 'channels_last') !== 'channels_last') return `data_format ${jsonText(c.data_format)}: only channels_last convolutions are pruned`;
  if (c.padding !== 'valid' && c.padding !== 'same' && c.padding !== undefined) return `padding ${jsonText(c.padding)}`;
  const pair = (v: unknown, fill: number): [number, number] | null => {
    const p = v === undefined || v === null ? [fill, fill] : typeof v === 'number' ? [v, v] : v;
    return Array.isArray(p) && p.length === 2 && p.every((x) => Number.isInteger(x) && x >= 1) ? [p[0], p[1]] : null;
  };
  const strides = pair(c.strides, 1);
  const dilations = pair(c.dilation_rate, 1);
  const group = c.groups ?? 1;
  if (!strides || !dilations) return `strides ${jsonText(c.strides)} or dilation_rate ${jsonText(c.dilation_rate)} not two positive integers`;
  if (!Number.isInteger(group) || (group as number) < 1) return `groups ${jsonText(group)}`;
  if (kernel.shape.length !== 4) return `kernel '${kernel.name}' has shape [${kernel.shape}], expected [kh, kw, in channels, filters]`;
  const [kh, kw, perGroup, outChannels] = kernel.shape as [number, number, number, number];
  const size = pair(c.kernel_size, 0);
  if (size && (size[0] !== kh || size[1] !== kw)) return `kernel_size [${size}] disagrees with the kernel shape [${kernel.shape}]`;
  if (outChannels % (group as number) !== 0) return `groups ${group} does not divide ${outChannels} filters`;
  return {
    spatialRank: 2, kernel: [kh, kw], strides, dilations, pads: [0, 0, 0, 0], autoPad: c.padding === 'same' ? 'SAME_UPPER' : 'VALID',
    group: group as number, inChannels: perGroup * (group as number), outChannels,
  };
}

/** The float32 manifest weight `layer/kind` (or the one weight whose name ends with it); a string says why not. */
function weightOf(weights: ReadonlyMap<string, WeightEntry>, layer: string, kind: 'kernel' | 'depthwise_kernel' | 'bias'): WeightEntry | string {
  let w = weights.get(`${layer}/${kind}`);
  if (!w) {
    const matches = [...weights.values()].filter((e) => e.name.endsWith(`/${layer}/${kind}`));
    if (matches.length === 1) w = matches[0];
  }
  if (!w) return `no weight '${layer}/${kind}' in the weightsManifest`;
  if (w.dtype !== 'float32') return `${kind} '${w.name}' is ${jsonText(w.dtype)}, not float32`;
  if (w.shape.some((d) => d === 0)) return `${kind} '${w.name}' is empty`;
  return w;
}

function ownsWeights(layer: string, weights: readonly WeightEntry[]): boolean {
  return weights.some((w) => w.name.startsWith(`${layer}/`) || w.name.includes(`/${layer}/`));
}

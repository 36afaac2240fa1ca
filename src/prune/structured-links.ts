// The bookkeeping of structured pruning (structured.ts): which layer's neurons another prunable
// layer reads (a link), which of them it still reads, how many to keep for a target, and the
// neurons, multiply-adds and parameters of every prunable layer before and after.
//
// A link is a producer P and the next prunable layer C that reads P's outputs through element-wise
// operators, pooling and Flatten/Reshape (a chain: C is the layer after P and P reaches C). C's input
// rows map to P's neurons: one row each (Dense after Dense), a channel's kh x kw taps (conv after
// conv), or a channel's H x W positions (Dense after a conv's Flatten: NCHW blocks, NHWC stripes).
// The model's own inputs are not neurons: the first layer's rows never are.
import { InputError } from '../errors.ts';
import { inputChannelOfRows, storedIndex } from '../graph/weights.ts';
import type { ModelBackend, WeightValues } from './backend.ts';
import type { ModelLayer } from '../graph/layer.ts';
import type { KeepTarget } from './types.ts';

export interface NeuronLink {
  producer: ModelLayer;
  consumer: ModelLayer;
  /** The producer's output neurons (channels): groups * M. */
  neurons: number;
  /** The producer neuron each of the consumer's input rows reads (one program, groups = 1). */
  rowNeuron: Int32Array;
}

/** The links of a model's prunable layers, in order; a layer none of whose outputs is read this way is in none. */
export function neuronLinks(backend: ModelBackend): NeuronLink[] {
  const links: NeuronLink[] = [];
  const layers = backend.layers;
  for (let i = 1; i < layers.length; i++) {
    const producer = layers[i - 1]!, consumer = layers[i]!;
    if (consumer.groups !== 1 || !backend.reaches(producer, consumer)) continue;
    const neurons = producer.groups * producer.outputSize;
    const rowNeuron = rowNeuronOf(producer, consumer, neurons);
    if (rowNeuron) links.push({ producer, consumer, neurons, rowNeuron });
  }
  return links;
}

function rowNeuronOf(producer: ModelLayer, consumer: ModelLayer, neurons: number): Int32Array | null {
  const n = consumer.inputSize;
  if (consumer.conv) {
    return n / (consumer.conv.kernel[0] * consumer.conv.kernel[1]) === neurons ? inputChannelOfRows(consumer) : null;
  }
  if (n % neurons !== 0) return null;
  const positions = n / neurons;
  // channels last (TensorFlow.js): row r reads channel r % C; NCHW Flatten: channel floor(r / (H * W))
  const nhwc = producer.layout === 'nhwc';
  return Int32Array.from({ length: n }, (_, r) => (nhwc ? r % neurons : Math.floor(r / positions)));
}

/** Which producer neurons the consumer still reads: a nonzero weight in one of their rows. */
export function neuronsRead(link: NeuronLink, consumerWeight: Float32Array): Uint8Array {
  const { consumer: c, rowNeuron } = link;
  const read = new Uint8Array(link.neurons);
  for (let i = 0; i < c.inputSize; i++) {
    if (read[rowNeuron[i]!]) continue;
    for (let j = 0; j < c.outputSize; j++) {
      if (consumerWeight[storedIndex(c, 0, i, j)] !== 0) { read[rowNeuron[i]!] = 1; break; }
    }
  }
  return read;
}

/** `values` with the producer's weights and biases of the neurons not kept set to zero (copies; nothing is read from them). */
export function withoutNeurons(backend: ModelBackend, values: Map<string, Float32Array>, producer: ModelLayer, kept: Uint8Array): void {
  const weight = (values.get(producer.weight) ?? backend.weightValues(producer.weight)).slice();
  const bias = producer.bias ? (values.get(producer.bias) ?? backend.weightValues(producer.bias)).slice() : null;
  const { inputSize: n, outputSize: m, groups } = producer;
  for (let g = 0; g < groups; g++) {
    for (let j = 0; j < m; j++) {
      if (kept[g * m + j]) continue;
      for (let i = 0; i < n; i++) weight[storedIndex(producer, g, i, j)] = 0;
      if (bias) bias[g * m + j] = 0;
    }
  }
  values.set(producer.weight, weight);
  if (producer.bias && bias) values.set(producer.bias, bias);
}

/** Multiply-adds per sample of each layer: groups * N * M * output positions (`positions`: 1 for a Dense layer). */
export function layerFlops(layer: ModelLayer, positions: number): number {
  return layer.groups * layer.inputSize * layer.outputSize * positions;
}

/** What a layer has after removing neurons: its fraction of input rows and output neurons kept. */
export interface LayerShape {
  layer: ModelLayer;
  positions: number;
  /** Output neurons after (groups * M before). */
  neurons: number;
  /** Fraction of its input rows whose producer neuron is kept (1 for the first layer). */
  rowsKept: number;
}

/** Per-layer shapes when each link's producer keeps `counts[i]` neurons (any `counts[i]` of them: the fractions only depend on the count). */
export function shapesAt(layers: readonly ModelLayer[], positions: readonly number[], links: readonly NeuronLink[], counts: readonly number[]): LayerShape[] {
  return layers.map((layer) => {
    const asProducer = links.findIndex((l) => l.producer === layer);
    const asConsumer = links.findIndex((l) => l.consumer === layer);
    return {
      layer, positions: positions[layer.index]!,
      neurons: asProducer >= 0 ? counts[asProducer]! : layer.groups * layer.outputSize,
      rowsKept: asConsumer >= 0 ? counts[asConsumer]! / links[asConsumer]!.neurons : 1,
    };
  });
}

export function flopsOf(shape: LayerShape): { before: number; after: number } {
  const before = layerFlops(shape.layer, shape.positions);
  const outKept = shape.neurons / (shape.layer.groups * shape.layer.outputSize);
  return { before, after: Math.round(before * shape.rowsKept * outKept) };
}

/** Weights and biases of the layer (the stored weight tensor's size), before and after. */
export function paramsOf(shape: LayerShape, weightCount: number): { before: number; after: number } {
  const { layer } = shape;
  const outKept = shape.neurons / (layer.groups * layer.outputSize);
  const bias = layer.bias ? layer.groups * layer.outputSize : 0;
  return { before: weightCount + bias, after: Math.round(weightCount * shape.rowsKept * outKept) + (layer.bias ? shape.neurons : 0) };
}

/**
 * Neurons each link's producer keeps for a target: the fraction of its neurons (at least one; one
 * fraction per producer when the target lists them), rounded up to a multiple of `multiple` (at
 * most all of them), or for a flops target the one fraction whose counts' multiply-adds come
 * closest to the target without exceeding it (bisection: the multiply-adds grow with the fraction).
 */
export function keepCounts(
  layers: readonly ModelLayer[], positions: readonly number[], links: readonly NeuronLink[], target: KeepTarget, multiple = 1,
): number[] {
  const countOf = (l: NeuronLink, f: number) => Math.min(l.neurons, multiple * Math.ceil(Math.max(1, Math.round(f * l.neurons)) / multiple));
  const countsAt = (f: number) => links.map((l) => countOf(l, f));
  if ('neurons' in target) {
    const f = target.neurons;
    if (typeof f === 'number') return countsAt(f);
    if (f.length !== links.length) {
      throw new InputError(`keep.neurons lists ${f.length} fractions, but the model has ${links.length} layers whose neurons can go (in order: ${links.map((l) => l.producer.name).join(', ')})`);
    }
    return links.map((l, i) => countOf(l, f[i]!));
  }
  const total = (counts: number[]) => shapesAt(layers, positions, links, counts).reduce((sum, s) => sum + flopsOf(s).after, 0);
  const budget = target.flops * total(links.map((l) => l.neurons));
  let lo = 0, hi = 1;
  for (let step = 0; step < 40; step++) {
    const mid = (lo + hi) / 2;
    if (total(countsAt(mid)) <= budget) lo = mid; else hi = mid;
  }
  return countsAt(lo);
}

/** The weight values as the backend would run them: `values` over the trained tensors. */
export function currentWeight(backend: ModelBackend, values: WeightValues, name: string): Float32Array {
  return values.get(name) ?? backend.weightValues(name);
}

// The structured baseline (issue 10 item 5): L1-norm filter pruning, Li, Kadav, Durdanovic, Samet,
// Graf, "Pruning Filters for Efficient ConvNets", ICLR 2017. Per layer, rank its output neurons (a
// Dense unit, a convolution's filter) by the L1 norm of their incoming weights, keep the `keep`
// largest, and remove the rest: their weights and bias, and every weight of the next layers that
// reads them. No data, no retraining. The result is the zero-masked model, which computes what
// the model with those neurons cut out computes; the network surgery that shrinks the tensors is
// the graph's business (issue 10 item 2).
import { storedIndex, toProgram } from '../graph/weights.ts';
import type { ModelBackend, WeightValues } from './backend.ts';
import type { ModelLayer } from '../graph/layer.ts';

/**
 * One layer whose output neurons are cut, and the layers reading them. `rowNeuron` maps each
 * program row of a consumer (group-major: row i of group g at g * N + i) to the producer neuron it
 * reads, or -1: the identity for Dense after Dense (oneRowPerNeuron), inputChannelOfRows for a
 * convolution after a convolution, floor(i / (H * W)) after an NCHW Flatten (rowsPerNeuron), i % C
 * after a channels-last one.
 */
export interface NeuronCut {
  producer: ModelLayer;
  /** Output neurons (channels) to keep, of groups * M. */
  keep: number;
  consumers: ReadonlyArray<{ layer: ModelLayer; rowNeuron: Int32Array }>;
}

/** The L1 norm of each output neuron's incoming weights (bias excluded), neuron o = g * M + j. */
export function neuronL1Norms(layer: ModelLayer, weight: Float32Array): Float64Array {
  const { inputSize: n, outputSize: m, groups } = layer;
  const norms = new Float64Array(groups * m);
  for (let g = 0; g < groups; g++) {
    const w = toProgram(layer, g, weight, null).weights;
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) norms[g * m + j]! += Math.abs(w[i * m + j]!);
  }
  return norms;
}

/** Which neurons stay: the `keep` largest norms (ties: the lower index stays). */
export function largestNeurons(norms: Float64Array, keep: number): Uint8Array {
  if (!(Number.isInteger(keep) && keep >= 0 && keep <= norms.length)) {
    throw new Error(`nettrim: keep must be an integer in 0..${norms.length}, got ${keep}`);
  }
  const order = Array.from(norms.keys()).sort((a, b) => norms[b]! - norms[a]! || a - b);
  const kept = new Uint8Array(norms.length);
  for (const o of order.slice(0, keep)) kept[o] = 1;
  return kept;
}

/** The identity map for a consumer that reads the producer's neurons one row each (Dense after Dense). */
export function oneRowPerNeuron(consumer: ModelLayer): Int32Array {
  return rowsPerNeuron(consumer, 1);
}

/**
 * `rows` consecutive program rows per producer neuron: H * W after an NCHW Flatten (a convolution
 * consumer is better served by inputChannelOfRows, which knows both layouts).
 */
export function rowsPerNeuron(consumer: ModelLayer, rows: number): Int32Array {
  const { inputSize: n, groups } = consumer;
  const perGroup = n / rows;
  return Int32Array.from({ length: groups * n }, (_, r) => Math.floor(r / n) * perGroup + Math.floor((r % n) / rows));
}

/**
 * The trained weights with each cut's weakest neurons removed: their columns of the producer's
 * weights and their biases zeroed, and the consumers' rows that read them zeroed. A layer may be
 * a producer in one cut and a consumer in another; every tensor not named stays as trained.
 */
export function l1NeuronValues(backend: ModelBackend, cuts: readonly NeuronCut[]): WeightValues {
  const values = new Map<string, Float32Array>();
  const current = (name: string) => values.get(name) ?? backend.weightValues(name);
  for (const cut of cuts) {
    const p = cut.producer;
    const kept = largestNeurons(neuronL1Norms(p, backend.weightValues(p.weight)), cut.keep);
    // stored entries are zeroed in place (no round trip through the program form's alpha scaling)
    const weight = current(p.weight).slice(), bias = p.bias ? current(p.bias).slice() : null;
    for (let g = 0; g < p.groups; g++) {
      for (let j = 0; j < p.outputSize; j++) {
        if (kept[g * p.outputSize + j]) continue;
        for (let i = 0; i < p.inputSize; i++) weight[storedIndex(p, g, i, j)] = 0;
        if (bias) bias[g * p.outputSize + j] = 0;
      }
    }
    values.set(p.weight, weight);
    if (p.bias && bias) values.set(p.bias, bias);
    for (const { layer, rowNeuron } of cut.consumers) values.set(layer.weight, withoutRows(layer, current(layer.weight), rowNeuron, kept));
  }
  return values;
}

/** A consumer's weights with the rows that read a removed neuron zeroed. */
function withoutRows(layer: ModelLayer, stored: Float32Array, rowNeuron: Int32Array, kept: Uint8Array): Float32Array {
  const { inputSize: n, outputSize: m, groups } = layer;
  if (rowNeuron.length !== groups * n) {
    throw new Error(`nettrim: rowNeuron of '${layer.name}' has ${rowNeuron.length} entries, expected ${groups * n} (groups x program rows)`);
  }
  const out = stored.slice();
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < n; i++) {
      const neuron = rowNeuron[g * n + i]!;
      if (neuron >= kept.length) throw new Error(`nettrim: rowNeuron of '${layer.name}' names neuron ${neuron}; the producer has ${kept.length}`);
      if (neuron < 0 || kept[neuron]) continue;
      for (let j = 0; j < m; j++) out[storedIndex(layer, g, i, j)] = 0;
    }
  }
  return out;
}

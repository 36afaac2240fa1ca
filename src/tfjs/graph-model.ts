// A TensorFlow.js Layers topology as the format-neutral ModelGraph (src/graph/model.ts): each
// layer's output is a tensor named after the layer, and each layer says what it does to its input.
import type { GraphOp, ModelGraph, OpKind } from '../graph/model.ts';
import type { Topology, TopologyLayer } from './topology.ts';
import type { WeightEntry } from './model.ts';

/** The topology's graph; `weights` by manifest name (BatchNormalization reads its statistics). */
export function tfjsModelGraph(topology: Topology, weights: ReadonlyMap<string, WeightEntry>): ModelGraph {
  const readers = new Map<string, GraphOp[]>();
  for (const l of topology.layers) {
    if (l.className === 'InputLayer') continue;
    const inputs = l.inbound.length === 1 ? l.inbound[0]! : [];
    // a layer applied several times has several outputs: nothing is folded through it
    const op: GraphOp = { name: l.name, op: l.className, inputs, output: l.name, kind: l.inbound.length === 1 ? kindOf(l, weights) : { kind: 'other' } };
    for (const from of new Set(l.inbound.flat())) readers.set(from, [...(readers.get(from) ?? []), op]);
  }
  const outputs = new Set(topology.outputs);
  return { consumers: (t) => readers.get(t) ?? [], isOutput: (t) => outputs.has(t) };
}

/** An activation by its Keras name, as a Dense or Conv2D layer or an Activation layer applies it. */
export function activationKind(name: unknown): OpKind {
  if (name === 'relu') return { kind: 'clip', min: 0, max: Infinity };
  if (name === 'relu6') return { kind: 'clip', min: 0, max: 6 };
  if (name === 'linear' || name === undefined || name === null) return { kind: 'affine', scale: null, shift: null };
  return { kind: 'other' };
}

function kindOf(l: TopologyLayer, weights: ReadonlyMap<string, WeightEntry>): OpKind {
  const c = l.config;
  switch (l.className) {
    case 'Activation':
      return activationKind(c.activation);
    case 'ReLU': {
      const max = typeof c.max_value === 'number' ? c.max_value : Infinity;
      const slope = typeof c.negative_slope === 'number' ? c.negative_slope : 0;
      if (c.threshold) return { kind: 'other' };
      if (slope > 0) return max === Infinity ? { kind: 'invertible', what: `slope ${Number(slope.toPrecision(4))}` } : { kind: 'other' };
      return max > 0 ? { kind: 'clip', min: 0, max } : { kind: 'other' };
    }
    case 'LeakyReLU': {
      const alpha = typeof c.alpha === 'number' ? c.alpha : 0.3;
      return alpha > 0 ? { kind: 'invertible', what: `slope ${Number(alpha.toPrecision(4))}` } : { kind: 'other' };
    }
    case 'PReLU': {
      const alpha = weights.get(`${l.name}/alpha`);
      return alpha && [...alpha.values].every((v) => v > 0) ? { kind: 'invertible', what: 'positive slopes' } : { kind: 'other' };
    }
    case 'Add':
      return l.inbound[0]!.length === 2 ? { kind: 'add' } : { kind: 'other' };
    case 'BatchNormalization':
      return batchNormKind(l, weights);
    default:
      return { kind: 'other' };
  }
}

/** Inference BatchNormalization on the last (channels) axis: gamma (x - mean) / sqrt(var + epsilon) + beta. */
function batchNormKind(l: TopologyLayer, weights: ReadonlyMap<string, WeightEntry>): OpKind {
  const c = l.config;
  const axis = Array.isArray(c.axis) ? (c.axis.length === 1 ? c.axis[0] : null) : (c.axis ?? -1);
  if (axis !== -1) return { kind: 'other' }; // only channels-last statistics are per output channel
  const get = (kind: string): Float32Array | null => {
    const w = weights.get(`${l.name}/${kind}`);
    return w && w.dtype === 'float32' ? Float32Array.from(w.values) : null;
  };
  const mean = get('moving_mean');
  const variance = get('moving_variance');
  if (!mean || !variance) return { kind: 'other' };
  const n = mean.length;
  const gamma = c.scale === false ? new Float32Array(n).fill(1) : get('gamma');
  const beta = c.center === false ? new Float32Array(n) : get('beta');
  if (!gamma || !beta || ![gamma, beta, variance].every((a) => a.length === n)) return { kind: 'other' };
  const eps = typeof c.epsilon === 'number' ? c.epsilon : 1e-3;
  const scale = new Float32Array(n);
  const shift = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    scale[j] = gamma[j]! / Math.sqrt(variance[j]! + eps);
    shift[j] = beta[j]! - mean[j]! * scale[j]!;
  }
  return { kind: 'affine', scale: { values: scale, dims: [n] }, shift: { values: shift, dims: [n] } };
}

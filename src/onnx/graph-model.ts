// The ONNX main graph as the format-neutral ModelGraph (src/graph/model.ts): each node with what
// it does to a layer's output. Constants are float32 initializers (Constant nodes are not read).
import type { Constant, GraphOp, ModelGraph, OpKind } from '../graph/model.ts';
import { consumersOf, indexGraph, type GraphIndex } from './graph.ts';
import { initializerValues, tensorDims, type OnnxModel } from './model.ts';
import { FLOAT, floatAttribute, intAttribute, nodeLabel, type NodeProto } from './proto.ts';

/** The model's main graph, indexed once. */
export function onnxModelGraph(model: OnnxModel, index: GraphIndex = indexGraph(model.graph)): ModelGraph {
  const ops = new Map<NodeProto, GraphOp>();
  const opOf = (node: NodeProto): GraphOp => {
    let op = ops.get(node);
    if (!op) {
      const inputs = (node.input ?? []).filter((t) => t && !model.initializers.has(t));
      op = { name: nodeLabel(node), op: node.opType ?? '', inputs, output: node.output?.[0] ?? '', kind: kindOf(model, node) };
      ops.set(node, op);
    }
    return op;
  };
  return {
    consumers: (tensor) => consumersOf(index, tensor).map(opOf),
    isOutput: (tensor) => index.outputs.has(tensor),
  };
}

function kindOf(model: OnnxModel, node: NodeProto): OpKind {
  if (node.domain && node.domain !== 'ai.onnx') return { kind: 'other' };
  const inputs = node.input ?? [];
  const constant = (name: string | undefined): Constant | null => {
    const t = name ? model.initializers.get(name) : undefined;
    return t && t.dataType === FLOAT ? { values: initializerValues(model, name!), dims: tensorDims(t) } : null;
  };
  switch (node.opType) {
    case 'Relu':
      return { kind: 'clip', min: 0, max: Infinity };
    case 'Clip':
      return clipKind(model, node);
    case 'BatchNormalization':
      return batchNormKind(model, node);
    case 'LeakyRelu': {
      const alpha = floatAttribute(node, 'alpha', 0.01);
      return alpha > 0 ? { kind: 'invertible', what: `slope ${Number(alpha.toPrecision(4))}` } : { kind: 'other' };
    }
    case 'PRelu': {
      const slope = constant(inputs[1]);
      return slope && slope.values.every((v) => v > 0) ? { kind: 'invertible', what: 'positive slopes' } : { kind: 'other' };
    }
    case 'Add': case 'Sub': case 'Mul': case 'Div': {
      const [a, b] = inputs;
      const ca = constant(a);
      const cb = constant(b);
      if (!ca && !cb) return node.opType === 'Add' && a && b ? { kind: 'add' } : { kind: 'other' };
      if (ca && cb) return { kind: 'other' };
      const c = (ca ?? cb)!;
      if (node.opType === 'Add') return { kind: 'affine', scale: null, shift: c };
      if (node.opType === 'Mul') return { kind: 'affine', scale: c, shift: null };
      if (node.opType === 'Sub') {
        return cb ? { kind: 'affine', scale: null, shift: negate(cb) } : { kind: 'affine', scale: { values: new Float32Array([-1]), dims: [] }, shift: ca };
      }
      // Div: only x / c is affine in x
      return cb && cb.values.every((v) => v !== 0) ? { kind: 'affine', scale: reciprocal(cb), shift: null } : { kind: 'other' };
    }
    default:
      return { kind: 'other' };
  }
}

/** Clip: bounds from inputs 1 and 2 (opset 11 on) or the min/max attributes (opset 6). */
function clipKind(model: OnnxModel, node: NodeProto): OpKind {
  const inputs = node.input ?? [];
  const bound = (i: number, attribute: 'min' | 'max', fallback: number): number | null => {
    const name = inputs[i];
    if (!name) return floatAttribute(node, attribute, fallback);
    const t = model.initializers.get(name);
    if (!t || t.dataType !== FLOAT) return null;
    const v = initializerValues(model, name);
    return v.length === 1 ? v[0]! : null;
  };
  const min = bound(1, 'min', -Infinity);
  const max = bound(2, 'max', Infinity);
  if (min === null || max === null || !(min < max)) return { kind: 'other' };
  // opset 6 writes the float limits for "none"
  return { kind: 'clip', min: min <= -3.4e38 ? -Infinity : min, max: max >= 3.4e38 ? Infinity : max };
}

/** Inference BatchNormalization: scale * (x - mean) / sqrt(var + epsilon) + B along axis 1. */
function batchNormKind(model: OnnxModel, node: NodeProto): OpKind {
  const [, s, b, mean, variance] = node.input ?? [];
  if (intAttribute(node, 'training_mode', 0) !== 0 || (node.output ?? []).length > 1) return { kind: 'other' };
  const names = [s, b, mean, variance];
  if (!names.every((n) => n && model.initializers.get(n)?.dataType === FLOAT)) return { kind: 'other' };
  const [gamma, beta, mu, v] = names.map((n) => initializerValues(model, n!)) as [Float32Array, Float32Array, Float32Array, Float32Array];
  const eps = floatAttribute(node, 'epsilon', 1e-5);
  const c = gamma.length;
  if (![beta, mu, v].every((a) => a.length === c)) return { kind: 'other' };
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let j = 0; j < c; j++) {
    scale[j] = gamma[j]! / Math.sqrt(v[j]! + eps);
    shift[j] = beta[j]! - mu[j]! * scale[j]!;
  }
  return { kind: 'affine', scale: { values: scale, axis: 1 }, shift: { values: shift, axis: 1 } };
}

function negate(c: Constant): Constant {
  return { ...c, values: c.values.map((v) => -v) };
}

function reciprocal(c: Constant): Constant {
  return { ...c, values: c.values.map((v) => 1 / v) };
}

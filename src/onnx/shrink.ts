// Network surgery on an ONNX model (issue 10 item 2): graph/shrink.ts says which output channels of
// each layer stay; this file slices the initializers that hold them (the layer's weight columns or
// filters and bias, BatchNormalization scale/bias/mean/var, per-channel Mul/Add/Sub/Div and PRelu
// constants, the readers' weight rows or input channels, a Reshape's shape when it carries the
// channel count, a grouped Conv's `group`) and writes the model with shrink-write.ts.
import type { GraphOp } from '../graph/model.ts';
import { channelWalks, planShrink, type ChannelLayout, type ChannelStep, type LayerCut, type NeuronCount, type ShrinkOutcome, type ShrinkRules, type Walk } from '../graph/shrink.ts';
import { countKept, keptIndices, sliceAxis, type DenseTensor } from '../graph/shrink-tensor.ts';
import type { ModelLayer } from '../graph/layer.ts';
import type { WeightValues } from '../prune/backend.ts';
import type { WeightFormat } from '../prune/types.ts';
import { InputError } from '../errors.ts';
import { consumersOf, indexGraph, type GraphIndex } from './graph.ts';
import { onnxModelGraph } from './graph-model.ts';
import { elementCount, initializerValues, parseModel, tensorDims, type OnnxModel } from './model.ts';
import { FLOAT, intAttribute, intsAttribute, nodeLabel, toInt, type NodeProto, type TensorProto } from './proto.ts';
import { applyGraphEdits, type GraphEdits } from './shrink-write.ts';
import { writeSparse } from './sparse.ts';

const INT64 = 7;

interface Edits extends GraphEdits {
  floats: Map<string, { dims: number[]; values: Float32Array }>;
  int64s: Map<string, number[]>;
  groups: Map<string, number>;
  staleShapes: Set<string>;
}
/** Element-wise operations: channel c in, channel c out, whatever the layout. */
const ELEMENTWISE = new Set([
  'Identity', 'Dropout', 'Sigmoid', 'Tanh', 'Elu', 'Selu', 'Celu', 'Softplus', 'Softsign', 'HardSigmoid', 'HardSwish',
  'Abs', 'Neg', 'Erf', 'Gelu', 'Mish', 'ThresholdedRelu',
]);
/** Element-wise operations on several run-time tensors. */
const JOINS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean']);
/** Reductions (and Squeeze) that act on each channel on its own when their axes are spatial (>= 2 of NCHW). */
const SPATIAL_REDUCTIONS = new Set(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceSum', 'ReduceL1', 'ReduceL2', 'Squeeze']);
/** Pooling over the spatial axes of NCHW: each channel on its own. */
const POOLING = new Set(['MaxPool', 'AveragePool', 'GlobalAveragePool', 'GlobalMaxPool', 'LpPool', 'GlobalLpPool']);

/**
 * The model with `values` in place of the trained tensors and every output channel that nothing
 * needs cut out (graph/shrink.ts), stored as `weightFormat` says (sparse initializers as
 * backend.write stores them).
 */
export function shrinkOnnx(
  model: OnnxModel, layers: readonly ModelLayer[], values: WeightValues, weightFormat: WeightFormat = 'dense',
): ShrinkOutcome<Uint8Array> {
  const index = indexGraph(model.graph);
  const nodes = new Map(index.nodes.map((n) => [nodeLabel(n), n]));
  const cuts = planShrink(onnxModelGraph(model, index), onnxShrinkRules(model, index, nodes), layers, values, (name) => initializerValues(model, name));
  const tensors = new Tensors(model, values);
  const edits: Edits = { floats: new Map(), int64s: new Map(), groups: new Map(), staleShapes: new Set() };
  const params = (cut: LayerCut) => layerTensors(cut, nodes, model).reduce((n, t) => n + tensors.get(t).values.length, 0);
  // counted before any cut and after all of them: a layer's rows are cut by its producer's surgery
  const before = cuts.map(params);
  const weightsBefore = cuts.map((cut) => tensors.get(cut.layer.weight).values.length);
  for (const cut of cuts) if (countKept(cut.kept) < cut.kept.length) cutLayer(cut, tensors, nodes, edits);
  const counts = cuts.map((cut, k): NeuronCount => ({
    name: cut.layer.name, op: cut.layer.op, before: cut.kept.length, after: countKept(cut.kept), keptDead: cut.keptDead, reason: cut.reason,
    paramsBefore: before[k]!, paramsAfter: params(cut),
    weightsBefore: weightsBefore[k]!, weightsAfter: tensors.get(cut.layer.weight).values.length,
  }));
  // every tensor in `values` is written with its (sliced) values, as backend.write writes it
  for (const name of values.keys()) tensors.touch(name);
  for (const [name, t] of tensors.changed()) edits.floats.set(name, t);
  const dense = applyGraphEdits(model.bytes, edits, model.source);
  const written = parseModel(dense, model.source);
  const shrunk = new Map([...values.keys()].map((name) => [name, tensors.get(name).values]));
  const bytes = weightFormat === 'dense' ? dense : writeSparse(written, shrunk, weightFormat === 'sparse' ? 'compact' : 'int64').bytes;
  return { model: bytes, layers: counts, paramsBefore: floatParams(model), paramsAfter: floatParams(written) };
}

/** Where each layer's channels go in the model (graph/shrink.ts channelWalks): readers with their row -> channel maps. */
export function onnxChannelWalks(model: OnnxModel, layers: readonly ModelLayer[]): Walk[] {
  const index = indexGraph(model.graph);
  const nodes = new Map(index.nodes.map((n) => [nodeLabel(n), n]));
  return channelWalks(onnxModelGraph(model, index), onnxShrinkRules(model, index, nodes), layers);
}

/** The ONNX operators the neutral walk cannot judge by kind: pooling, Flatten, Reshape, shared constants. */
export function onnxShrinkRules(model: OnnxModel, index: GraphIndex, nodes: ReadonlyMap<string, NodeProto>): ShrinkRules {
  return {
    joins: (op) => JOINS.has(op.op) && !nodes.get(op.name)?.domain,
    step(op: GraphOp, layout: ChannelLayout): ChannelStep | null {
      const node = nodes.get(op.name);
      if (!node || (node.domain && node.domain !== 'ai.onnx')) return stop(op, 'is not a standard operator');
      const flat = layout === 'flat-first' || layout === 'flat-last';
      const shared = (node.input ?? []).slice(1).find((t) => t && model.initializers.has(t) && elementCount(model.initializers.get(t)!) > 1 && consumersOf(index, t).length > 1);
      if (shared) return stop(op, `shares its constant '${shared}' with other nodes`);
      if (ELEMENTWISE.has(op.op)) return { kind: 'pass' };
      if (POOLING.has(op.op)) return layout === 'first' ? { kind: 'pass' } : stop(op, 'pools a tensor whose channels are not on axis 1');
      if (op.op === 'Flatten') return !flat && intAttribute(node, 'axis', 1) === 1 ? { kind: 'flatten' } : stop(op, 'flattens from another axis');
      if (op.op === 'Reshape') return !flat && reshapeShape(model, index, node) ? { kind: 'flatten' } : stop(op, 'is not known to flatten each sample to one row ([0, -1], or a shape its input\'s declared dims confirm)');
      if (op.op === 'PRelu') return op.kind.kind === 'invertible' ? null : stop(op, 'has slopes that are not all positive');
      if (SPATIAL_REDUCTIONS.has(op.op)) {
        const axes = axesOf(model, node);
        return layout === 'first' && axes && axes.length > 0 && axes.every((a) => a >= 2) ? { kind: 'pass' } : stop(op, 'does not reduce (or squeeze) spatial axes of NCHW only');
      }
      return null;
    },
  };
}

/** The axes attribute (up to opset 17) or constant input (opset 13 Squeeze, 18 reductions); null when computed. */
function axesOf(model: OnnxModel, node: NodeProto): number[] | null {
  const attribute = intsAttribute(node, 'axes');
  if (attribute) return attribute;
  const name = node.input?.[1];
  if (!name) return [];
  const t = model.initializers.get(name);
  return t && t.dataType === INT64 ? int64Values(t) : null;
}

function stop(op: GraphOp, why: string): ChannelStep {
  return { kind: 'stop', reason: `${op.op} '${op.name}' ${why}` };
}

/**
 * A Reshape's shape when it flattens each sample to one row, from an initializer of its own:
 * [0, -1] always; [-1, features] or [batch, -1] only when the input's declared shape (value_info)
 * shows that the features are a whole sample (else [-1, W] could cut rows inside a channel).
 */
function reshapeShape(model: OnnxModel, index: GraphIndex, node: NodeProto): number[] | null {
  const name = node.input?.[1];
  const t = name ? model.initializers.get(name) : undefined;
  if (!t || t.dataType !== INT64 || consumersOf(index, name!).length > 1) return null;
  const shape = int64Values(t);
  if (shape.length !== 2) return null;
  const [a, b] = shape as [number, number];
  if (a === 0 && b === -1) return shape;
  const dims = declaredDims(model, node.input?.[0] ?? '');
  const sample = dims?.slice(1).reduce<number | null>((n, d) => (n === null || d === null ? null : n * d), 1) ?? null;
  if (sample === null) return null;
  if (a === -1 && b === sample) return shape;
  if (b === -1 && a > 0 && a === dims![0]) return shape;
  return null;
}

/** The dims value_info (or a graph input or output) declares for a tensor; null entries are symbolic. */
function declaredDims(model: OnnxModel, tensor: string): Array<number | null> | null {
  const g = model.graph;
  const info = [...(g.valueInfo ?? []), ...(g.input ?? []), ...(g.output ?? [])].find((v) => v.name === tensor);
  const dims = info?.type?.tensorType?.shape?.dim;
  return dims ? dims.map((d) => (d.dimValue !== undefined && d.dimValue !== null && toInt(d.dimValue) > 0 ? toInt(d.dimValue) : null)) : null;
}

function int64Values(t: TensorProto): number[] {
  const raw = t.rawData;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    return Array.from({ length: raw.length / 8 }, (_, i) => Number(view.getBigInt64(8 * i, true)));
  }
  return (t.int64Data ?? []).map((v) => toInt(v as number));
}

/** The float initializers of a layer and of the per-channel operations after it. */
function layerTensors(cut: LayerCut, nodes: ReadonlyMap<string, NodeProto>, model: OnnxModel): string[] {
  const { layer } = cut;
  const names = [layer.weight, ...(layer.bias ? [layer.bias] : [])];
  for (const { op } of cut.path) for (const t of constantInputs(nodes.get(op.name)!, model)) names.push(t);
  return names;
}

/** The float constant inputs a path operation holds per channel (BatchNormalization's four, a Mul's one, PRelu's slope). */
function constantInputs(node: NodeProto, model: OnnxModel): string[] {
  const inputs = node.input ?? [];
  const float = (t: string | undefined): t is string => !!t && model.initializers.get(t)?.dataType === FLOAT;
  if (node.opType === 'BatchNormalization') return inputs.slice(1, 5).filter(float);
  if (['Mul', 'Add', 'Sub', 'Div', 'PRelu'].includes(node.opType ?? '')) return inputs.filter(float);
  return [];
}

/** Slices the layer's outputs, the path's constants and the readers' rows to the kept channels. */
function cutLayer(cut: LayerCut, tensors: Tensors, nodes: ReadonlyMap<string, NodeProto>, edits: Edits): void {
  const { layer, kept } = cut;
  const keep = keptIndices(kept);
  const channels = kept.length;
  const outAxis = layer.op === 'Conv' ? 0 : layer.gemm?.transB ? 0 : 1;
  tensors.slice(layer.weight, outAxis, keep);
  if (layer.bias) tensors.slice(layer.bias, tensors.get(layer.bias).dims.length - 1, keep);
  if (layer.groups > 1) edits.groups.set(layer.nodes[0]!, Math.round(layer.groups * keep.length / channels));
  for (const name of layer.nodes) for (const t of nodes.get(name)?.output ?? []) edits.staleShapes.add(t);
  for (const { op, layout } of cut.path) {
    const node = nodes.get(op.name)!;
    for (const t of node.output ?? []) edits.staleShapes.add(t);
    if (op.op === 'Reshape') {
      const name = node.input![1]!;
      const shape = int64Values(tensors.model.initializers.get(name)!);
      if (shape[1]! > 0) edits.int64s.set(name, [shape[0]!, (shape[1]! / channels) * keep.length]);
      continue;
    }
    for (const t of constantInputs(node, tensors.model)) {
      const { dims, values } = tensors.get(t);
      if (values.length === 1) continue;
      // BatchNormalization's vectors are [C]; a broadcast constant has C on the channel axis counted from the end
      const fromEnd = node.opType === 'BatchNormalization' ? 1 : layout === 'first' ? layer.conv!.spatialRank + 1 : 1;
      tensors.slice(t, dims.length - fromEnd, keep);
    }
  }
  for (const { layer: reader, rowChannel } of cut.readers) {
    if (reader.groups > 1) continue; // its dropped groups are its own output cut
    if (reader.op === 'Conv') tensors.slice(reader.weight, 1, keep);
    else {
      const rows = keptIndices(rowChannel.map((ch) => (ch < 0 || kept[ch] ? 1 : 0)));
      tensors.slice(reader.weight, reader.gemm?.transB ? 1 : 0, rows);
    }
  }
}

/** The float tensors the surgery reads and slices, starting from `values` or the trained ones. */
class Tensors {
  private readonly read = new Map<string, DenseTensor>();
  private readonly dirty = new Set<string>();
  constructor(readonly model: OnnxModel, private readonly values: WeightValues) {}
  get(name: string): DenseTensor {
    let t = this.read.get(name);
    if (!t) {
      const stored = this.model.initializers.get(name);
      if (!stored || stored.dataType !== FLOAT) throw new InputError(`${this.model.source}: cannot write initializer '${name}': no float32 initializer of that name in the graph`);
      t = { values: this.values.get(name) ?? initializerValues(this.model, name), dims: tensorDims(stored) };
      if (t.values.length !== elementCount(stored)) throw new Error(`${this.model.source}: '${name}' has ${elementCount(stored)} values, ${t.values.length} given`);
      this.read.set(name, t);
    }
    return t;
  }
  /** Marks a tensor to be written even if no slice changes it. */
  touch(name: string): void {
    this.get(name);
    this.dirty.add(name);
  }
  slice(name: string, axis: number, keep: readonly number[]): void {
    this.read.set(name, sliceAxis(this.get(name), axis, keep));
    this.dirty.add(name);
  }
  /** The tensors sliced or touched, as they are now. */
  changed(): Array<[string, DenseTensor]> {
    return [...this.dirty].map((name) => [name, this.read.get(name)!]);
  }
}

/** Float32 parameters of a model: the elements of its float initializers. */
export function floatParams(model: OnnxModel): number {
  let n = 0;
  for (const t of model.initializers.values()) if (t.dataType === FLOAT) n += elementCount(t);
  return n;
}

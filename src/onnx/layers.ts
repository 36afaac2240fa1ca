// Prunable layer discovery: Gemm, MatMul with a constant weight (plus a following Add of a
// constant as bias) and Conv. Everything else that carries weights is listed with the reason it is
// left alone. What follows each layer up to its activation (BatchNormalization, a residual Add,
// Relu or Clip) is found by graph/follow.ts on the format-neutral graph (graph-model.ts).
import { InputError } from '../errors.ts';
import { followLayer, plainStructure } from '../graph/follow.ts';
import { consumersOf, indexGraph, type GraphIndex } from './graph.ts';
import { onnxModelGraph } from './graph-model.ts';
import { elementCount, tensorDims, type OnnxModel } from './model.ts';
import {
  FLOAT, dataTypeName, floatAttribute, intAttribute, intsAttribute, nodeLabel, stringAttribute, type NodeProto,
} from './proto.ts';
import type { ConvParams, GemmParams, ModelLayer, SkippedLayer } from '../graph/layer.ts';



/** An ONNX prunable layer: the pipeline's layer record (prune/backend.ts) with ONNX's operators. */
export interface PrunableLayer extends ModelLayer {
  op: 'Gemm' | 'MatMul' | 'Conv';
}


export interface LayerDiscovery {
  layers: PrunableLayer[];
  skipped: SkippedLayer[];
}

/** Ops that carry weights: listed in `skipped` when they cannot be pruned. */
const WEIGHTED_OPS = new Set([
  'Gemm', 'MatMul', 'Conv', 'ConvTranspose', 'LSTM', 'GRU', 'RNN', 'Einsum', 'MatMulInteger', 'ConvInteger',
  'QLinearConv', 'QLinearMatMul',
]);
const SUBGRAPH_OPS = new Set(['If', 'Loop', 'Scan']);

/** Finds the prunable layers of the main graph, and every other node with weights, with the reason it is left alone. */
export function findLayers(model: OnnxModel): LayerDiscovery {
  const index = indexGraph(model.graph);
  const graph = onnxModelGraph(model, index);
  const layers: PrunableLayer[] = [];
  const reasons = new Map<NodeProto, string>();
  for (const node of index.nodes) {
    const op = node.opType ?? '';
    let found: Found | null;
    if (node.domain && node.domain !== 'ai.onnx') {
      found = WEIGHTED_OPS.has(op) ? `operator of the custom domain '${node.domain}'` : null;
    } else if (op === 'Gemm') found = gemmLayer(model, index, node);
    else if (op === 'MatMul') found = matMulLayer(model, index, node);
    else if (op === 'Conv') found = convLayer(model, index, node);
    else if (SUBGRAPH_OPS.has(op)) found = 'layers inside subgraphs (If, Loop, Scan) are not pruned';
    else found = null;
    if (typeof found === 'string') reasons.set(node, found);
    else if (found) {
      const base: PrunableLayer = { ...found, index: layers.length, activation: 'linear', structure: plainStructure('') };
      const structure = followLayer(graph, base);
      layers.push({ ...base, structure, activation: structure.clip ? 'relu' : 'linear' });
    }
  }
  // Nodes with weights that no layer program covers (a BatchNormalization folded into one is covered).
  const covered = new Set(layers.flatMap((l) => [...l.nodes, ...l.structure.ops]));
  const skipped: SkippedLayer[] = [];
  for (const node of index.nodes) {
    const name = nodeLabel(node);
    const reason = reasons.get(node) ?? (covered.has(name) ? null : unprunedReason(model, node));
    if (reason) skipped.push({ name, op: node.opType ?? '', reason });
  }
  return { layers, skipped };
}

/** Why a node that is not a Gemm, MatMul or Conv but holds float weights is left alone; null when it holds none. */
function unprunedReason(model: OnnxModel, node: NodeProto): string | null {
  const op = node.opType ?? '';
  const weights = (node.input ?? []).map((n) => model.initializers.get(n)).filter((t) => t && t.dataType === FLOAT && elementCount(t) > 1);
  if (!WEIGHTED_OPS.has(op) && weights.length === 0) return null;
  const dims = weights.map((t) => `[${tensorDims(t!).join(', ')}]`).join(', ');
  switch (op) {
    case 'BatchNormalization':
      return 'not folded into a layer program: it does not follow a prunable layer alone (see that layer\'s constraint)';
    case 'LayerNormalization': case 'InstanceNormalization': case 'GroupNormalization':
      return `a normalization's scale and shift (${dims}), not a weight matrix: left as they are`;
    case 'Gather':
      return `an embedding table ${dims}: rows are looked up, not multiplied, so there is no program to solve`;
    case 'Add': case 'Sub': case 'Mul': case 'Div':
      return `${op} of a constant ${dims} not folded into a layer program (a position embedding, a scale or a bias of another op): left as it is`;
    default:
      return `${op} is not a prunable operator${dims ? ` (constant ${dims})` : ''}`;
  }
}

/** Like findLayers, but an InputError when nothing can be pruned (the message lists why). */
export function requireLayers(model: OnnxModel): LayerDiscovery {
  const found = findLayers(model);
  if (found.layers.length === 0) {
    const why = found.skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
    throw new InputError(
      `${model.source}: no prunable layer (Gemm, MatMul with a constant weight, Conv)${why ? `; skipped: ${why}` : ''}`,
    );
  }
  return found;
}

type Found = Omit<PrunableLayer, 'index' | 'structure' | 'activation'> | string;

function gemmLayer(model: OnnxModel, index: GraphIndex, node: NodeProto): Found {
  const [a, b, c] = node.input ?? [];
  const gemm: GemmParams = {
    transA: intAttribute(node, 'transA', 0) !== 0,
    transB: intAttribute(node, 'transB', 0) !== 0,
    alpha: floatAttribute(node, 'alpha', 1),
    beta: floatAttribute(node, 'beta', 1),
  };
  const weight = weightProblem(model, index, b, 2);
  if (typeof weight === 'string') return weight;
  if (!a || model.initializers.has(a)) return 'input A is a constant, not data';
  if (gemm.alpha === 0 || !Number.isFinite(gemm.alpha)) return `alpha is ${gemm.alpha}`;
  const [rows, cols] = weight as [number, number];
  const [n, m] = gemm.transB ? [cols, rows] : [rows, cols];
  let bias: string | null = null;
  if (c && gemm.beta !== 0) {
    const problem = biasProblem(model, index, c, m);
    if (problem) return `bias C: ${problem}`;
    if (!Number.isFinite(gemm.beta)) return `beta is ${gemm.beta}`;
    bias = c;
  }
  return dense(index, node, [node], 'Gemm', a, node.output?.[0] ?? '', b!, bias, weight, n, m, gemm);
}

function matMulLayer(model: OnnxModel, index: GraphIndex, node: NodeProto): Found {
  const [a, b] = node.input ?? [];
  if (a && model.initializers.has(a) && b && !model.initializers.has(b)) return 'the constant is the left operand';
  const weight = weightProblem(model, index, b, 2);
  if (typeof weight === 'string') return weight;
  if (!a || model.initializers.has(a)) return 'input A is a constant, not data';
  const [n, m] = weight as [number, number];
  let output = node.output?.[0] ?? '';
  const nodes = [node];
  let bias: string | null = null;
  const next = consumersOf(index, output);
  if (next.length === 1 && next[0]!.opType === 'Add' && !next[0]!.domain && !index.outputs.has(output)) {
    const add = next[0]!;
    const other = (add.input ?? []).find((t) => t !== output);
    if (other && model.initializers.has(other) && !biasProblem(model, index, other, m)) {
      bias = other;
      nodes.push(add);
      output = add.output?.[0] ?? '';
    }
  }
  return dense(index, node, nodes, 'MatMul', a, output, b!, bias, weight, n, m);
}

function convLayer(model: OnnxModel, index: GraphIndex, node: NodeProto): Found {
  const [x, w, b] = node.input ?? [];
  const weight = weightProblem(model, index, w, [3, 4]);
  if (typeof weight === 'string') return weight;
  if (!x || model.initializers.has(x)) return 'input X is a constant, not data';
  const spatialRank = weight.length === 3 ? 1 : 2;
  const group = intAttribute(node, 'group', 1);
  const [outChannels, perGroup] = weight as [number, number];
  if (group < 1 || outChannels % group !== 0) return `group ${group} does not divide ${outChannels} output channels`;
  const kernel = (spatialRank === 1 ? [1, weight[2]!] : [weight[2]!, weight[3]!]) as [number, number];
  const declared = intsAttribute(node, 'kernel_shape');
  if (declared && declared.join() !== weight.slice(2).join()) {
    return `kernel_shape [${declared}] disagrees with the weight dims [${weight}]`;
  }
  const conv = convParams(node, spatialRank, kernel, group, perGroup * group, outChannels);
  if (typeof conv === 'string') return conv;
  let bias: string | null = null;
  if (b) {
    const problem = biasProblem(model, index, b, outChannels);
    if (problem) return `bias B: ${problem}`;
    bias = b;
  }
  const output = node.output?.[0] ?? '';
  return {
    name: nodeLabel(node), op: 'Conv', nodes: [nodeLabel(node)], input: x, output, weight: w!, bias, weightDims: weight,
    inputSize: perGroup * kernel[0] * kernel[1], outputSize: outChannels / group, groups: group, conv,
  };
}

function convParams(
  node: NodeProto, rank: 1 | 2, kernel: [number, number], group: number, inChannels: number, outChannels: number,
): ConvParams | string {
  const lift = (v: number[] | undefined, fill: number): [number, number] =>
    !v ? [fill, fill] : rank === 1 ? [1, v[0]!] : [v[0]!, v[1]!];
  const strides = lift(intsAttribute(node, 'strides'), 1);
  const dilations = lift(intsAttribute(node, 'dilations'), 1);
  const p = intsAttribute(node, 'pads');
  if (p && p.length !== 2 * rank) return `pads [${p}] should hold ${2 * rank} values`;
  const pads: [number, number, number, number] = !p ? [0, 0, 0, 0] : rank === 1 ? [0, p[0]!, 0, p[1]!] : [p[0]!, p[1]!, p[2]!, p[3]!];
  const autoPad = stringAttribute(node, 'auto_pad', 'NOTSET') as ConvParams['autoPad'];
  if (!['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID'].includes(autoPad)) return `unknown auto_pad '${autoPad}'`;
  if ([...strides, ...dilations].some((v) => v < 1) || pads.some((v) => v < 0)) return 'invalid strides, dilations or pads';
  return { spatialRank: rank, kernel, strides, dilations, pads, autoPad, group, inChannels, outChannels };
}

function dense(
  index: GraphIndex, node: NodeProto, nodes: NodeProto[], op: 'Gemm' | 'MatMul', input: string, output: string,
  weight: string, bias: string | null, weightDims: number[], n: number, m: number, gemm?: GemmParams,
): Found {
  return {
    name: nodeLabel(node), op, nodes: nodes.map(nodeLabel), input, output, weight, bias, weightDims, inputSize: n, outputSize: m, groups: 1, ...(gemm ? { gemm } : {}),
  };
}

/** The weight's dims when it is a float32 initializer of the given rank used by this node only. */
function weightProblem(model: OnnxModel, index: GraphIndex, name: string | undefined, rank: number | number[]): number[] | string {
  if (!name) return 'no weight input';
  const tensor = model.initializers.get(name);
  if (!tensor) {
    return index.producer.has(name) || index.dataInputs.includes(name)
      ? `its weight operand '${name}' is not an initializer but computed at run time (as in an attention product, Q K^T or attention x V): no stored weights to prune`
      : `weight '${name}' is not an initializer (computed or fed at run time)`;
  }
  if (tensor.dataType !== FLOAT) return `weight '${name}' is ${dataTypeName(tensor.dataType)}; only float32 is pruned`;
  const dims = tensorDims(tensor);
  const ranks = Array.isArray(rank) ? rank : [rank];
  if (!ranks.includes(dims.length)) return `weight '${name}' has rank ${dims.length}, expected ${ranks.join(' or ')}`;
  if (dims.some((d) => d === 0)) return `weight '${name}' is empty`;
  const users = consumersOf(index, name).length;
  if (users > 1) return `weight '${name}' is shared by ${users} nodes`;
  return dims;
}

/** Why a bias initializer cannot be pruned with the layer, or null when it can (M values, one per output). */
function biasProblem(model: OnnxModel, index: GraphIndex, name: string, m: number): string | null {
  const tensor = model.initializers.get(name);
  if (!tensor) return `'${name}' is not an initializer`;
  if (tensor.dataType !== FLOAT) return `'${name}' is ${dataTypeName(tensor.dataType)}, not float32`;
  const dims = tensorDims(tensor);
  const perOutput = dims.length >= 1 && dims[dims.length - 1] === m && dims.slice(0, -1).every((d) => d === 1);
  if (!perOutput) return `'${name}' has dims [${dims.join(', ')}], not one value per output (${m})`;
  if (consumersOf(index, name).length > 1) return `'${name}' is shared by several nodes`;
  return null;
}

// Network surgery, the format-neutral half (issue 10 item 2): given zero-masked weight values, which
// output neurons (channels) of each prunable layer can be cut out of the network. A channel can go
// when nothing that reads it needs it: every weight of every layer reading it (through per-channel
// operations: activations, BatchNormalization and per-channel constants, pooling, Flatten) is zero,
// or belongs to an output that layer drops in turn. Where a channel reaches anything else (a
// residual Add, a Concat, a graph output, an operation that mixes channels) it stays, and the
// record says why. The format halves (src/onnx/shrink.ts, src/tfjs/shrink.ts) slice the tensors.
import { storedIndex } from './weights.ts';
import type { ModelLayer, WeightValues } from './layer.ts';
import { inputChannelOfRows } from './weights.ts';
import { perChannel } from './follow.ts';
import type { GraphOp, ModelGraph } from './model.ts';

/** One prunable layer's neurons (output channels over all groups) before and after the surgery. */
export interface NeuronCount {
  name: string;
  op: string;
  before: number;
  after: number;
  /** neurons that are zero-masked but were kept, and why (joined by a residual Add/Concat, a graph output) */
  keptDead: number;
  reason: string | null;
  /** Float parameters of the layer (weight, bias) and of the per-channel operations after it (BatchNormalization, ...). */
  paramsBefore: number;
  paramsAfter: number;
  /** Elements of the layer's weight tensor: the share left is the share of its multiply-adds left. */
  weightsBefore: number;
  weightsAfter: number;
}

/** The smaller model and what was cut. */
export interface ShrinkOutcome<Written> {
  model: Written;
  layers: NeuronCount[];
  /** Every float parameter of the model (BatchNormalization statistics included). */
  paramsBefore: number;
  paramsAfter: number;
}

/**
 * Where a layer's channels sit in a tensor on its way to the next layers: 'first' (axis 1 of NCHW),
 * 'last' (dense features, channels-last images), or flattened into rows from either.
 */
export type ChannelLayout = 'first' | 'last' | 'flat-first' | 'flat-last';

/** What an operation does to the channels passing through it, as the format sees it. */
export type ChannelStep =
  /** channel c in, channel c out: the operation may hold per-channel constants the format slices */
  | { kind: 'pass' }
  /** to rows of a matrix ([N, C, H, W] -> [N, C*H*W], or channels-last) */
  | { kind: 'flatten' }
  | { kind: 'stop'; reason: string };

/** The format's rules for operations the neutral walk cannot judge from their kind alone. */
export interface ShrinkRules {
  /** What `op` does to channels in `layout`; null: judge by its kind (activations, affine constants, Add). */
  step(op: GraphOp, layout: ChannelLayout): ChannelStep | null;
  /** Whether `op` (several run-time inputs) combines them element by element, channel c with channel c (Add, Mul, ...). */
  joins?(op: GraphOp): boolean;
  /** Why every channel of `layer` stays whatever reads it (its own softmax activation), or null. */
  keepAll?(layer: ModelLayer): string | null;
}

/** A layer reading the channels, and the channel each of its program rows reads (group-major, -1: none). */
export interface ChannelReader {
  layer: ModelLayer;
  rowChannel: Int32Array;
}

/** An operation between a layer and its readers that carries the layer's channels. */
export interface PathOp {
  op: GraphOp;
  /** The layout of the channels in the operation's input. */
  layout: ChannelLayout;
}

/** The surgery plan of one layer. */
export interface LayerCut {
  layer: ModelLayer;
  /** 1 for each output channel (of groups * M) that stays. */
  kept: Uint8Array;
  /** Operations after the layer carrying its channels (their constants are sliced with it). */
  path: PathOp[];
  readers: ChannelReader[];
  keptDead: number;
  reason: string | null;
}

/** Where one layer's channels go: the operations carrying them, the layers reading them, and what else reads them. */
export interface Walk {
  path: PathOp[];
  readers: ChannelReader[];
  /** Why every channel stays (something other than a prunable layer reads them). */
  stops: string[];
}

/**
 * The cut of every layer of `layers` (topological order) for the weights `values` (the trained
 * values `trained(name)` where absent). A channel stays when a reader needs it; a layer whose
 * channels would all go keeps its first channel (first group), so the model stays a valid graph
 * whose output, which then no longer depends on its input, is still what the masked model computes.
 */
export function planShrink(
  graph: ModelGraph, rules: ShrinkRules, layers: readonly ModelLayer[], values: WeightValues, trained: (name: string) => Float32Array,
): LayerCut[] {
  const walks = channelWalks(graph, rules, layers);
  const weight = new Map(layers.map((l) => [l, values.get(l.weight) ?? trained(l.weight)]));
  const channels = (l: ModelLayer) => l.outputSize * l.groups;
  const kept = new Map<ModelLayer, Uint8Array>(layers.map((l) => [l, new Uint8Array(channels(l))]));
  // grouped layers lose whole groups only, and only those whose input channels their producer cuts
  const forced = new Map(layers.map((l) => [l, new Uint8Array(channels(l))]));
  const producerOf = new Map<ModelLayer, { producer: ModelLayer; rowChannel: Int32Array }>();
  walks.forEach((w, k) => w.readers.forEach((r) => producerOf.set(r.layer, { producer: layers[k]!, rowChannel: r.rowChannel })));
  for (const l of layers) if (l.groups > 1 && !producerOf.has(l)) forced.get(l)!.fill(1);
  const dead = new Map<ModelLayer, Uint8Array>();
  const why = new Map<ModelLayer, string[]>();
  for (let changed = true; changed;) {
    changed = false;
    for (let k = layers.length - 1; k >= 0; k--) {
      const l = layers[k]!, w = walks[k]!;
      const needs = channelNeeds(l, w, (r) => weight.get(r)!, (r) => kept.get(r)!);
      const f = forced.get(l)!;
      if (f.some((v, o) => v && !needs.need[o])) {
        const p = producerOf.get(l)?.producer;
        needs.reasons.add(p ? `'${p.name}' keeps the input channels of its groups` : 'its groups read channels no cut layer produces');
        f.forEach((v, o) => v && (needs.need[o] = 1));
      }
      const need = needs.need;
      wholeGroups(l, need);
      if (need.every((v) => v === 0)) {
        need.fill(1, 0, l.groups > 1 ? l.outputSize : 1); // the first neuron (group)
        needs.reasons.add('every neuron is dead: the first is kept so the model stays a valid graph');
      }
      dead.set(l, needs.dead);
      why.set(l, [...needs.reasons]);
      const before = kept.get(l)!;
      if (need.some((v, o) => v !== before[o])) {
        kept.set(l, need);
        changed = true;
      }
    }
    // a grouped reader keeps each group whose input channels its producer keeps
    for (const [reader, { producer, rowChannel }] of producerOf) {
      if (reader.groups === 1) continue;
      const p = kept.get(producer)!, f = forced.get(reader)!;
      for (let g = 0; g < reader.groups; g++) {
        const reads = rowChannel.subarray(g * reader.inputSize, (g + 1) * reader.inputSize);
        if (reads.some((ch) => ch >= 0 && p[ch] === 1) && !f[g * reader.outputSize]) {
          f.fill(1, g * reader.outputSize, (g + 1) * reader.outputSize);
          changed = true;
        }
      }
    }
  }
  return layers.map((l, k) => {
    const d = dead.get(l)!, kp = kept.get(l)!;
    const keptDead = d.reduce((n, v, o) => n + (v && kp[o] ? 1 : 0), 0);
    const reasons = why.get(l)!;
    return {
      layer: l, kept: kp, path: walks[k]!.path, readers: walks[k]!.readers,
      keptDead, reason: keptDead > 0 && reasons.length > 0 ? reasons.join('; ') : null,
    };
  });
}

/** Which channels of a layer its readers need, which are zero-masked (read, but only by zero weights), and why some stay. */
function channelNeeds(
  layer: ModelLayer, walk: Walk, weightOf: (l: ModelLayer) => Float32Array, keptOf: (l: ModelLayer) => Uint8Array,
): { need: Uint8Array; dead: Uint8Array; reasons: Set<string> } {
  const c = layer.outputSize * layer.groups;
  const need = new Uint8Array(c), live = new Uint8Array(c), read = new Uint8Array(c);
  const reasons = new Set<string>();
  const held = walk.readers.map((r) => readChannels(r, weightOf(r.layer), keptOf(r.layer), live, need, read));
  walk.readers.forEach((r, k) => {
    if ([...held[k]!].some((ch) => !live[ch])) reasons.add(`the grouped ${r.layer.op} '${r.layer.name}' keeps the groups reading them (their outputs are read)`);
  });
  if (walk.stops.length > 0) {
    need.fill(1);
    walk.stops.forEach((s) => reasons.add(s));
  }
  return { need, dead: read.map((v, o) => (v && !live[o] ? 1 : 0)), reasons };
}

/**
 * Marks what one reader does with the channels: `read` every channel it reads, `live` those whose
 * rows hold a nonzero weight to an output it keeps, `need` those it cannot do without (the live
 * ones; for a grouped reader, every channel of a group it keeps, zero or not: a group's input
 * channel goes only with the group). Returns the channels a grouped reader holds that way.
 */
function readChannels(r: ChannelReader, weight: Float32Array, keptOut: Uint8Array, live: Uint8Array, need: Uint8Array, read: Uint8Array): Set<number> {
  const { layer, rowChannel } = r;
  const { inputSize: n, outputSize: m, groups } = layer;
  const held = new Set<number>();
  for (let g = 0; g < groups; g++) {
    const groupKept = keptOut.subarray(g * m, (g + 1) * m).some((v) => v === 1);
    for (let i = 0; i < n; i++) {
      const ch = rowChannel[g * n + i]!;
      if (ch < 0) continue;
      read[ch] = 1;
      if (groups > 1 && groupKept) {
        need[ch] = 1;
        held.add(ch);
      }
      if (live[ch]) continue;
      for (let j = 0; j < m; j++) {
        if (keptOut[g * m + j] && weight[storedIndex(layer, g, i, j)] !== 0) {
          live[ch] = need[ch] = 1;
          break;
        }
      }
    }
  }
  return held;
}

/** A grouped layer keeps or drops whole groups. */
function wholeGroups(layer: ModelLayer, need: Uint8Array): void {
  if (layer.groups === 1) return;
  const m = layer.outputSize;
  for (let g = 0; g < layer.groups; g++) {
    if (need.subarray(g * m, (g + 1) * m).some((v) => v === 1)) need.fill(1, g * m, (g + 1) * m);
  }
}

/**
 * For each layer, where its output channels go (the row -> channel maps a structured program needs
 * for the layers reading them, e.g. l1-neurons.ts's rowNeuron), and what else reads them.
 */
export function channelWalks(graph: ModelGraph, rules: ShrinkRules, layers: readonly ModelLayer[]): Walk[] {
  const byNode = new Map(layers.map((l) => [l.nodes[0]!, l]));
  return layers.map((l) => walkChannels(graph, rules, byNode, l));
}

/**
 * Follows the layer's channels forward to the layers reading them; anything else that reads them is
 * a stop. An element-wise join of tensors that all carry the layer's channels in the same layout
 * (GELU written as x * 0.5 * (1 + erf(x / sqrt 2)), x + relu(x)) passes once all its inputs are reached.
 */
function walkChannels(graph: ModelGraph, rules: ShrinkRules, byNode: ReadonlyMap<string, ModelLayer>, layer: ModelLayer): Walk {
  const walk: Walk = { path: [], readers: [], stops: [] };
  const channels = layer.outputSize * layer.groups;
  const start: ChannelLayout = layer.conv && layer.layout !== 'nhwc' ? 'first' : 'last';
  const layouts = new Map<string, ChannelLayout>(); // the tensors reached, with their layout
  const joins = new Set<GraphOp>(); // element-wise joins waiting for their other inputs
  const own = rules.keepAll?.(layer);
  if (own) walk.stops.push(own);
  const pass = (op: GraphOp, layout: ChannelLayout, step: ChannelStep): void => {
    walk.path.push({ op, layout });
    const next: ChannelLayout = step.kind === 'flatten' ? (layout === 'first' ? 'flat-first' : layout === 'last' ? 'flat-last' : layout) : layout;
    visit(op.output, next);
  };
  const visit = (tensor: string, layout: ChannelLayout): void => {
    if (layouts.has(tensor)) return;
    layouts.set(tensor, layout);
    if (graph.isOutput(tensor)) walk.stops.push(`'${tensor}' is a model output`);
    for (const op of graph.consumers(tensor)) {
      const reader = byNode.get(op.name);
      if (reader && reader.input === tensor) {
        const rows = rowChannels(reader, layout, channels);
        if (typeof rows === 'string') walk.stops.push(rows);
        else walk.readers.push({ layer: reader, rowChannel: rows });
        continue;
      }
      if (op.inputs.length > 1 && rules.joins?.(op)) {
        joins.add(op);
        continue;
      }
      const step = rules.step(op, layout) ?? stepOfKind(op, layer, layout, channels);
      if (step.kind === 'stop') walk.stops.push(step.reason);
      else pass(op, layout, step);
    }
  };
  visit(layer.output, start);
  for (let progress = true; progress;) {
    progress = false;
    for (const op of joins) {
      const sides = op.inputs.map((t) => layouts.get(t));
      if (sides.some((l) => l === undefined) || layouts.has(op.output)) continue;
      joins.delete(op);
      progress = true;
      if (sides.every((l) => l === sides[0])) pass(op, sides[0]!, { kind: 'pass' });
      else walk.stops.push(`${op.op} '${op.name}' joins its channels in different layouts`);
    }
  }
  for (const op of joins) walk.stops.push(op.kind.kind === 'add' ? `the residual ${op.op} '${op.name}' reads it` : `${op.op} '${op.name}' joins it with another tensor`);
  return walk;
}

/** The neutral judgement: activations and per-channel (or scalar) affine constants pass; a residual Add stops. */
function stepOfKind(op: GraphOp, layer: ModelLayer, layout: ChannelLayout, channels: number): ChannelStep {
  const k = op.kind;
  if (k.kind === 'add') return { kind: 'stop', reason: `the residual ${op.op} '${op.name}' reads it` };
  if (op.inputs.length > 1) return { kind: 'stop', reason: `${op.op} '${op.name}' joins it with another tensor` };
  if (k.kind === 'clip' || k.kind === 'invertible') return { kind: 'pass' };
  if (k.kind === 'affine') {
    const flat = layout === 'flat-first' || layout === 'flat-last';
    const ok = [k.scale, k.shift].every((c) => !c || c.values.length === 1 || (!flat && perChannel(c, layer, channels) !== null));
    return ok ? { kind: 'pass' } : { kind: 'stop', reason: `${op.op} '${op.name}' holds constants that are not one per channel` };
  }
  return { kind: 'stop', reason: `${op.op} '${op.name}' reads it (the surgery does not follow channels through it)` };
}

/** The channel each program row of `reader` reads, or why the rows do not line up with the channels. */
function rowChannels(reader: ModelLayer, layout: ChannelLayout, channels: number): Int32Array | string {
  const rows = reader.inputSize * reader.groups;
  const mismatch = `'${reader.name}' reads ${rows} rows, which do not line up with ${channels} channels`;
  if (reader.conv) {
    if (layout === 'flat-first' || layout === 'flat-last') return `'${reader.name}' is a convolution reading flattened channels`;
    if (reader.conv.inChannels !== channels) return mismatch;
    return inputChannelOfRows(reader);
  }
  if (reader.gemm?.transA) return `'${reader.name}' reads its input transposed (transA)`;
  if (layout === 'first' && rows !== channels) return `'${reader.name}' reads an NCHW tensor without a Flatten`;
  if (layout === 'last' ? rows !== channels : rows % channels !== 0) return mismatch;
  const perChannel = rows / channels;
  // channels-first flattening: H*W consecutive rows per channel; channels-last: every C-th row
  return Int32Array.from({ length: rows }, (_, i) => (layout === 'flat-first' || layout === 'first' ? Math.floor(i / perChannel) : i % channels));
}

// What follows a prunable layer, up to its activation (method.md section 6): per-channel affine
// operations (BatchNormalization, Mul/Add by constants), at most one residual Add, then a Relu or
// Clip. Each piece keeps the layer program convex: the affine part is folded into the program's
// weights, the other branch of the Add shifts the targets and bounds, and the Clip's flat parts
// become half-spaces. The walk stops at anything else, and the report says where and why.
import type { LayerStructure, ModelLayer } from './layer.ts';
import type { Constant, GraphOp, ModelGraph } from './model.ts';


/** The layer's output goes straight on: no structure (a linear program on W^T x + b). */
export function plainStructure(reason: string): LayerStructure {
  return { affine: null, skip: null, clip: null, ops: [], reason };
}

/** Walks forward from `layer.output` through `graph` and says what the layer's program keeps. */
export function followLayer(graph: ModelGraph, layer: ModelLayer): LayerStructure {
  const channels = layer.outputSize * layer.groups;
  let scale: Float32Array | null = null;
  let shift: Float32Array | null = null;
  let skip: string | null = null;
  const ops: string[] = [];
  const steps: string[] = [];
  const done = (clip: LayerStructure['clip'], why: string): LayerStructure => ({
    affine: scale ? { scale, shift: shift! } : null, skip, clip, ops, reason: describe(clip, steps, why),
  });
  let tensor = layer.output;
  for (;;) {
    const readers = graph.consumers(tensor);
    if (graph.isOutput(tensor)) return done(null, `'${tensor}' is a model output`);
    if (readers.length === 0) return done(null, `nothing reads '${tensor}'`);
    if (readers.length > 1 && !sameClips(readers)) return done(null, `'${tensor}' is read by ${readers.length} operations`);
    const op = readers[0]!;
    const k = op.kind;
    if (k.kind === 'affine') {
      if (skip) return done(null, `${op.op} '${op.name}' after the residual Add is not folded`);
      const a = k.scale ? perChannel(k.scale, layer, channels) : ones(channels);
      const c = k.shift ? perChannel(k.shift, layer, channels) : new Float32Array(channels);
      if (!a || !c) return done(null, `${op.op} '${op.name}' is not one value per channel`);
      // compose: scale' * (scale * z + shift) + shift'
      scale ??= ones(channels);
      shift ??= new Float32Array(channels);
      for (let j = 0; j < channels; j++) {
        scale[j] = a[j]! * scale[j]!;
        shift[j] = a[j]! * shift[j]! + c[j]!;
      }
      ops.push(op.name);
      steps.push(`${op.op} '${op.name}' (folded)`);
    } else if (k.kind === 'add') {
      const other = op.inputs.filter((t) => t !== tensor);
      if (skip || other.length !== 1) return done(null, `Add '${op.name}' joins more than one other branch`);
      skip = other[0]!;
      ops.push(op.name);
      steps.push(`a residual ${op.op} '${op.name}' (skip '${skip}')`);
    } else if (k.kind === 'clip') {
      ops.push(...readers.map((r) => r.name));
      return done({ min: k.min, max: k.max }, `${op.op} '${op.name}'`);
    } else if (k.kind === 'invertible') {
      return done(null, `${op.op} '${op.name}' (${k.what}) is invertible: linear on its input`);
    } else {
      return done(null, `${op.op} '${op.name}' is not piecewise linear: linear on its input`);
    }
    tensor = op.output;
  }
}

/** Several readers that are all the same activation (two Relu nodes on one tensor) act as one. */
function sameClips(readers: readonly GraphOp[]): boolean {
  const first = readers[0]!.kind;
  return first.kind === 'clip' && readers.every((r) => r.kind.kind === 'clip' && r.kind.min === first.min && r.kind.max === first.max);
}

function describe(clip: LayerStructure['clip'], steps: string[], why: string): string {
  const after = steps.length > 0 ? ` after ${steps.join(' and ')}` : '';
  if (!clip) return `linear${after}: ${why}`;
  const name = clip.min === 0 && clip.max === Infinity ? 'relu' : `clip(${clip.min}, ${clip.max})`;
  return `${name} (${why})${after}`;
}

/**
 * A constant as one value per output channel of `layer`, or null when it varies along another axis.
 * Channels sit at axis 1 of an NCHW convolution's output, last otherwise (dense, channels-last).
 */
export function perChannel(c: Constant, layer: ModelLayer, channels: number): Float32Array | null {
  const nchw = layer.conv !== undefined && layer.layout !== 'nhwc';
  const fromEnd = nchw ? layer.conv!.spatialRank + 1 : 1; // channel axis, counted from the last
  if ('axis' in c) {
    // only where the channel axis is axis 1 for sure: NCHW convolutions and Gemm's 2-D outputs
    if (!(nchw || layer.op === 'Gemm') || c.axis !== 1) return null;
    return broadcastOne(c.values, c.values.length, channels);
  }
  const dims = c.dims;
  for (let i = 0; i < dims.length; i++) {
    const pos = dims.length - i; // 1 = last
    if (pos !== fromEnd && dims[i] !== 1) return null;
  }
  const along = dims.length >= fromEnd ? dims[dims.length - fromEnd]! : 1;
  return broadcastOne(c.values, along, channels);
}

function broadcastOne(values: Float32Array, along: number, channels: number): Float32Array | null {
  if (values.length !== along) return null;
  if (along === channels) return Float32Array.from(values);
  if (along === 1) return new Float32Array(channels).fill(values[0]!);
  return null;
}

function ones(n: number): Float32Array {
  return new Float32Array(n).fill(1);
}

export type { GraphOp };

// The format-neutral model of a network's graph that layer analysis is written against: run-time
// tensors, the operations reading them, and what each operation does to a layer's output, as far as
// the layer's program cares (method.md section 6). ONNX (src/onnx/graph-model.ts) and TensorFlow.js
// Layers (src/tfjs/graph-model.ts) map their graphs onto it; src/graph/follow.ts answers "what
// follows this layer" once, for both.

/**
 * A constant broadcast against a run-time tensor: numpy rules (dims aligned from the right), or,
 * with `axis`, laid along one axis counted from the front (ONNX BatchNormalization: axis 1).
 */
export type Constant =
  | { values: Float32Array; dims: readonly number[] }
  | { values: Float32Array; axis: number };

/** What an operation does, in the terms the layer programs need. */
export type OpKind =
  /** out = scale * in + shift, constants (BatchNormalization at inference, Mul/Add/Sub/Div by constants). */
  | { kind: 'affine'; scale: Constant | null; shift: Constant | null }
  /** out = in1 + in2, both computed at run time (a residual join). */
  | { kind: 'add' }
  /** out = min(max(in, min), max): Relu is (0, Infinity), ReLU6 and Clip(0, 6) are (0, 6). */
  | { kind: 'clip'; min: number; max: number }
  /** Invertible piecewise-linear activations: LeakyRelu and PRelu with positive slopes. */
  | { kind: 'invertible'; what: string }
  /** Anything else (GELU, sigmoid, pooling, reshapes, ...): the program stops before it. */
  | { kind: 'other' };

export interface GraphOp {
  /** The format's name of the node or layer, for messages and the report. */
  name: string;
  /** The format's operator ('BatchNormalization', 'Relu', 'Add', ...). */
  op: string;
  /** The run-time tensors it reads (constants are inside `kind`). */
  inputs: readonly string[];
  output: string;
  kind: OpKind;
}

/** A network's graph: who reads each run-time tensor. */
export interface ModelGraph {
  /** The operations reading `tensor`, in graph order (empty when none). */
  consumers(tensor: string): readonly GraphOp[];
  /** Whether `tensor` is one of the model's outputs. */
  isOutput(tensor: string): boolean;
}

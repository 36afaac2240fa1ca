// A layer's program data in the space it is solved in (method.md sections 1, 2 and 6).
//
// The graph gives, per output channel j, out = act(a_j (W^T x + b)_j + c_j + s), with the affine part
// (a, c) of BatchNormalization or Mul/Add constants, s the other branch of a residual Add and act a
// Relu or Clip(min, max) (graph/follow.ts). The program's variable is u = a (W^T x + b): the weights
// W'' = W diag(a) and b'' = a b (programs.ts moves between them), so the l1 weighs each weight by its
// effect after the affine part, and the Frobenius ball measures the error where the next layers read
// it (after BatchNormalization, which puts the channels on one scale) and where it is a plain ball,
// whose projection is closed-form. With O = c + s the pre-activation is u + O, and per entry:
//   min < u0 + O < max  -> ball, target u0 (the trained u)
//   u0 + O <= min       -> u <= min - O       (stays inactive: the slack V = -s of a residual Add)
//   u0 + O >= max       -> u >= max - O       (stays saturated: ReLU6's flat top)
// Cascade (the already pruned network's Xhat, its skip s^ and the trained layer on Xhat, u^0): the ball
// targets the trained output, u + O^ ~ u0 + O, and the bounds become u^0 so that the trained weights
// stay feasible (method.md section 2).
import type { LayerSignals } from './backend.ts';

/** Region codes of LayerInput.regions. */
export const BALL = 0;
export const UPPER = 1;
export const LOWER = 2;

/** Below this fraction of the largest output, an output counts as sitting on a bound (the solver's own rule, scaled). */
const ON_BOUND = 1e-6;

export interface ProgramData {
  /** P x width targets of the ball (u-space); 0 on bounded entries. */
  targets: Float32Array;
  /** P x width regions (BALL, UPPER, LOWER), or null when every entry is in the ball. */
  regions: Uint8Array | null;
  /** P x width bounds of the bounded entries, or null. */
  bounds: Float32Array | null;
  /** P x width: the trained layer's output after its activation, what relative epsilons are relative to. */
  outputs: Float32Array;
  /**
   * The group program's row groups for a layer that is not a convolution (structured.ts): the
   * producer neuron each input row reads (H * W rows per channel after a conv's Flatten), or absent.
   */
  rowNeuron?: Int32Array;
}

/** The parallel scheme's data: the trained network's own signals. */
export function parallelData(s: LayerSignals): ProgramData {
  return programData(s, s, true);
}

/**
 * The cascade scheme's data: the ball and regions from the trained signals `trained`, the program's
 * X from `hat` (the pruned network) with bounds at the trained layer's response to it.
 */
export function cascadeData(trained: LayerSignals, hat: LayerSignals): ProgramData {
  return programData(trained, hat, false);
}

/**
 * The cascade's data with the bounds where the activation clips on `hat`'s signals
 * (u + O^ at min or max) instead of at the trained layer's response: what the soft refit
 * (refit.ts) penalises is then exactly the error after the activation. Parallel data when hat is
 * the trained signals.
 */
export function clipBoundData(trained: LayerSignals, hat: LayerSignals): ProgramData {
  return programData(trained, hat, true);
}

/** The trained u = a (W^T x + b) of every entry of `s` (its `outputs` are W^T x + b). */
export function programOutputs(s: LayerSignals): Float32Array {
  const scale = s.layer.structure.affine?.scale;
  if (!scale) return s.outputs;
  const width = s.outputWidth;
  return s.outputs.map((z, i) => scale[i % width]! * z);
}

function programData(trained: LayerSignals, hat: LayerSignals, clipBounds: boolean): ProgramData {
  const { structure } = trained.layer;
  const width = trained.outputWidth;
  const shift = structure.affine?.shift;
  const u0 = programOutputs(trained);
  const cascade = hat !== trained;
  const uHat = cascade ? programOutputs(hat) : u0;
  const count = u0.length;
  // pre-activation of the trained network, and the skip correction (s - s^) of the cascade
  const pre = new Float32Array(count);
  const skipShift = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const s = trained.skips ? trained.skips[i]! : 0;
    pre[i] = u0[i]! + (shift ? shift[i % width]! : 0) + s;
    if (cascade && trained.skips) skipShift[i] = s - hat.skips![i]!;
  }
  const clip = structure.clip;
  const targets = new Float32Array(count);
  if (!clip) {
    for (let i = 0; i < count; i++) targets[i] = u0[i]! + skipShift[i]!;
    return { targets, regions: null, bounds: null, outputs: pre };
  }
  const outputs = pre.map((v) => Math.min(clip.max, Math.max(clip.min, v)));
  let largest = 0;
  for (const v of outputs) largest = Math.max(largest, Math.abs(v));
  const slack = ON_BOUND * largest;
  const regions = new Uint8Array(count);
  const bounds = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const offset = pre[i]! - u0[i]!; // O = c + s
    // where u + O^ clips: O^ = O - (s - s^)
    const offsetHat = offset - skipShift[i]!;
    if (pre[i]! <= clip.min + slack) {
      regions[i] = UPPER;
      bounds[i] = cascade && !clipBounds ? uHat[i]! : clip.min - offsetHat;
    } else if (pre[i]! >= clip.max - slack) {
      regions[i] = LOWER;
      bounds[i] = cascade && !clipBounds ? uHat[i]! : clip.max - offsetHat;
    } else {
      targets[i] = u0[i]! + skipShift[i]!;
    }
  }
  return { targets, regions, bounds, outputs };
}

/** ||(u^0 - targets)_ball||_F over one group's columns: how far the trained weights are from the ball's centre on Xhat. */
export function cascadeGap(hat: LayerSignals, data: ProgramData, group: number): number {
  const m = hat.layer.outputSize;
  const uHat = programOutputs(hat);
  let sum = 0;
  for (let c = 0; c < hat.columns; c++) {
    const o = c * hat.outputWidth + group * m;
    for (let j = 0; j < m; j++) {
      if (data.regions && data.regions[o + j] !== BALL) continue;
      const d = uHat[o + j]! - data.targets[o + j]!;
      sum += d * d;
    }
  }
  return Math.sqrt(sum);
}

/** ||outputs||_F over one group's columns. */
export function groupNorm(s: LayerSignals, values: Float32Array, group: number): number {
  const m = s.layer.outputSize;
  let sum = 0;
  for (let c = 0; c < s.columns; c++) {
    const o = c * s.outputWidth + group * m;
    for (let j = 0; j < m; j++) sum += values[o + j]! ** 2;
  }
  return Math.sqrt(sum);
}

// The model backend: what the pruning pipeline (schemes, search, magnitude baseline, evaluation,
// report) needs from a model format. ONNX (src/onnx/backend.ts) and TensorFlow.js Layers
// (src/tfjs/backend.ts) implement it; everything in src/prune works on these records only.
//
// A backend finds the prunable layers, runs the model in its own runtime (onnxruntime,
// TensorFlow.js) with some weight tensors replaced, and writes a pruned model in its own format.
// Weight tensors are named by the format's own names ('fc1.weight', 'fc1/kernel').
import type { ConvGeometry } from '../graph/im2col.ts';
import type { ModelLayer, SkippedLayer, WeightValues } from '../graph/layer.ts';
import type { Feeds, ModelInput } from '../onnx/inputs.ts';
import type { ShrinkOutcome } from '../graph/shrink.ts';

export type { ModelLayer, WeightValues } from '../graph/layer.ts';


/** One layer's program data, sample-major: row c of X and of Z is column c of method.md's X, Y. */
export interface LayerSignals {
  layer: ModelLayer;
  /** Rows P: sampled (sample, position) pairs. */
  columns: number;
  /** Row width of `inputs`: groups * N (all input channels of a conv patch). */
  inputWidth: number;
  /** Row width of `outputs`: groups * M. */
  outputWidth: number;
  /** P x inputWidth layer inputs (unfolded patches for a conv). */
  inputs: Float32Array;
  /** P x outputWidth layer outputs before the activation: W^T x + b. */
  outputs: Float32Array;
  /** P x outputWidth: the other branch of the residual Add after the layer (structure.skip), or null. */
  skips: Float32Array | null;
  /** Conv geometry, for convolutions. */
  geometry?: ConvGeometry;
}

export interface SignalOptions {
  /** Samples per runtime call. */
  batchSize: number;
  /** Most columns kept per layer (samples x positions). */
  maxColumns: number;
  seed: number;
  /** Called after each batch with the number of samples done. */
  onBatch?: (done: number, total: number) => void;
}

/** Every output of a model over all samples, concatenated along the sample axis, by output name. */
export type Outputs = Map<string, Float32Array>;

/** A model format, bound to one model: `Written` is what a pruned model is (bytes, files). */
export interface ModelBackend<Written = unknown> {
  /** The path or label used in messages and the report. */
  readonly source: string;
  readonly layers: readonly ModelLayer[];
  /** Layers with weights that are left as they are, with the reason. */
  readonly skipped: readonly SkippedLayer[];
  /** The data inputs, for checking calibration and evaluation tensors (first axis: samples). */
  readonly inputs: readonly ModelInput[];
  /** The trained float32 values of a stored tensor (a copy). */
  weightValues(name: string): Float32Array;
  /** Whether the output of `upstream` reaches the input of `layer`. */
  reaches(upstream: ModelLayer, layer: ModelLayer): boolean;
  /** The signals of `layers` in the model with `values` in place of the trained tensors. The same seed picks the same columns. */
  collectSignals(values: WeightValues, layers: readonly ModelLayer[], feeds: Feeds, samples: number, options: SignalOptions): Promise<LayerSignals[]>;
  /** Every output of the model with `values` in place of the trained tensors. `label` names the model in messages. */
  runOutputs(values: WeightValues, label: string, feeds: Feeds, samples: number, batchSize: number): Promise<Outputs>;
  /** The model in its format with `values` in place of the trained tensors; everything else as it was. */
  write(values: WeightValues): Written;
  /**
   * The model with `values` in place of the trained tensors and every neuron/channel whose outgoing
   * weights are all zero (and that nothing else reads) removed; computes what write(values)
   * computes (graph/shrink.ts). Optional: a format without surgery leaves it out.
   */
  shrink?(values: WeightValues): ShrinkOutcome<Written>;
}

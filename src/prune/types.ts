// The records of whole-network pruning: settings in (defaults in one frozen object), report out.
import type { TrimSettings, TrimStatus } from '../types.ts';

/** method.md section 2: layers solved independently, or each fed by the already pruned network. */
export type Scheme = 'parallel' | 'cascade';

/** The refit's treatment of outputs the activation clipped: squared-excess penalty, or a constraint (PruneSettings.refitBounds). */
export type RefitBounds = 'soft' | 'hard';

/**
 * How an ONNX file stores the pruned weight tensors: 'dense' (as trained, zeros included);
 * 'sparse', as sparse_initializer entries with the smallest integer positions onnxruntime loads;
 * 'sparse-int64', the same with int64 positions, the only kind the ONNX checker accepts (larger).
 * A tensor whose sparse form would not be smaller stays dense. onnxruntime expands sparse
 * initializers when it loads the model: same outputs, same speed. TensorFlow.js models: always dense.
 */
export type WeightFormat = 'dense' | 'sparse' | 'sparse-int64';

/**
 * What the pruning removes: 'weights', single weights (Net-Trim's l1 program); 'neurons', whole
 * hidden neurons and conv channels (the group program on each layer that reads them, structured.ts).
 */
export type Structure = 'weights' | 'neurons';

/**
 * The target of structure 'neurons': the fraction of the hidden neurons/channels to keep (every
 * layer whose outputs another prunable layer reads keeps that fraction of its own), or one fraction
 * per such layer, in model order (e.g. [0.48, 1]: a runtime's time may hang on one layer's width,
 * the accuracy on another's), or the fraction of the prunable layers' multiply-adds to keep (one
 * neuron fraction for all layers, chosen so).
 */
export type KeepTarget = { neurons: number | readonly number[] } | { flops: number };

export interface PruneSettings {
  scheme: Scheme;
  /**
   * The relative gain g: a layer's epsilon is g * ||Y||_F (parallel; the first cascade layer and
   * any cascade layer whose input no pruned layer changes). Ignored when `sparsity` is set.
   */
  epsilon: number;
  /** Fraction of the prunable weights to remove network-wide (0..1), or null to use `epsilon`. */
  sparsity: number | null;
  /** How close the sparsity search must get: |removed - sparsity| <= this. */
  sparsityTolerance: number;
  /** Most whole-network solves the sparsity search may spend. */
  maxSearchTries: number;
  /**
   * How a `sparsity` target is shared among the layers (parallel scheme): 'sensitivity' chooses each
   * layer's epsilon from the measured effect of pruning it on the model's outputs (allocate.ts);
   * 'uniform' searches one epsilon for every layer (search.ts). The cascade always searches one.
   */
  allocation: 'sensitivity' | 'uniform';
  /** Cascade: epsilon_l = sqrt(gamma) * ||(W0^T Xhat - Y)_Omega||_F, gamma >= 1. */
  gamma: number;
  /** Most program columns (samples x positions) per layer; convolutions sample positions at random. */
  maxColumns: number;
  /** Samples per onnxruntime call. */
  batchSize: number;
  /** Seed of the position sampling. */
  seed: number;
  /**
   * Not part of Net-Trim's program, on by default: once the layers are solved, move each layer's
   * kept weights toward the least-squares fit of the trained network's outputs, with the outputs the
   * activation clipped treated as `refitBounds` says (refit.ts). Same nonzero counts, smaller error. Net-Trim picks the
   * support well but its l1 shrinks the kept weights (the error budget is spent on shrinkage).
   * Parallel scheme: layer by layer, each on its inputs in the already refit network
   * (schemes.ts refitSequential), so each layer also absorbs what pruning upstream changed; the
   * cascade refits each layer as it solves it. On the ResNet-style example at 50% removed, held-out
   * accuracy was 82.3% refitting each layer on the trained signals, 92.0% layer by layer (README,
   * Numbers). `false` returns Net-Trim's own solution.
   */
  refit: boolean;
  /**
   * How the refit treats the outputs the trained activation clipped (a ReLU's inactive outputs,
   * ReLU6's saturated ones). 'soft': an output pushed past its bound adds its squared excess to the
   * fit, so the refit minimises a convex upper bound on the layer's squared error after the
   * activation. 'hard': no output may cross its bound (Net-Trim's own constraint), which at high
   * sparsity holds a layer near Net-Trim's shrunk weights (ResNet-style example at 70% removed: mean
   * step 0.05 to 0.09 of the way to the fit on its two widest convs; held-out accuracy 69.0% hard,
   * 77.7% with a first soft version at the same supports; bench/README.md, prune-architectures).
   */
  refitBounds: RefitBounds;
  /**
   * Sensitivity allocation with the refit: at each gain of the path, also try the previous gain's
   * choice (refit) trimmed to this gain's per-output counts by |w| ||x|| and refit again, and keep
   * whichever changes the outputs less (allocate-trim.ts). The layer report says which support a
   * layer got. At 70% removed: ResNet-style 78.55% -> 92.25%, ViT-style 84.0% -> 86.45% (bench/README.md).
   */
  trimSupports: boolean;
  /** Passed to every layer solve; epsilon, epsilonMode, activation and bias are set per layer. */
  solver: Partial<TrimSettings>;
  /**
   * Threads for the solves (null: the host's cores). Independent programs (the parallel scheme's
   * layers, a grouped conv's groups) run side by side when that is predicted faster (layer/lanes.ts).
   */
  threads: number | null;
  /** ONNX: how the written files store the pruned weights (see WeightFormat). */
  weightFormat: WeightFormat;
  /** 'neurons': remove whole neurons/channels (structured.ts); the written model is smaller where the backend can shrink it. */
  structure: Structure;
  /** Structure 'neurons': the target, or null to solve the group programs at `epsilon` (no search). */
  keep: KeepTarget | null;
  /**
   * Structure 'neurons' with `keep`: each layer's neuron count is rounded up to a multiple of this
   * (at most all its neurons), and no layer keeps more than its count. onnxruntime's CPU matrix
   * product works in panels of 16 output columns here: 129 to 144 neurons cost the same time.
   */
  neuronMultiple: number;
  /**
   * Structure 'neurons': afterwards, prune single weights inside the kept neurons with the l1
   * program at `epsilon` or `sparsity` (network-wide, the removed neurons' weights counted).
   */
  weightsAfterNeurons: boolean;
}

export const DEFAULT_PRUNE_SETTINGS: Readonly<PruneSettings> = Object.freeze({
  scheme: 'parallel',
  epsilon: 0.05, // the middle of the authors' 0.01..0.3; method.md section 2
  sparsity: null,
  sparsityTolerance: 0.01, // one percentage point, as the issue asks
  allocation: 'sensitivity', // measured: see allocate.ts and the README's numbers
  maxSearchTries: 10, // the search usually lands in 4 to 6 tries (search.ts)
  gamma: 1.1, // the authors' experiments
  maxColumns: 4096, // program cost grows with the columns; 4096 keep conv layers within a minute here
  batchSize: 256,
  seed: 1,
  refitBounds: 'soft', // measured: bench/README.md, prune-architectures
  trimSupports: true, // measured: bench/README.md, prune-architectures (issue 9 at 0.7)
  refit: true, // measured: the l1's shrinkage costs accuracy that the least-squares refit gives back (refit.ts)
  solver: Object.freeze({}),
  threads: null,
  weightFormat: 'sparse', // the smallest file onnxruntime loads as is (README, Numbers)
  structure: 'weights',
  keep: null,
  neuronMultiple: 1, // no rounding: a multiple only pays where the runtime's panel width is known (bench/README.md)
  weightsAfterNeurons: false,
});

/** What happened to one layer. Sizes are per program; a grouped conv solves `groups` programs. */
export interface LayerReport {
  name: string;
  op: string;
  nodes: string[];
  /** The program's activation: 'relu', 'clip(0, 6)' (ReLU6) or 'linear'. */
  activation: string;
  /** Which constraint the program applied and why: what follows the layer in the graph (graph/follow.ts). */
  constraint: string;
  /** N: inputs of one program (C/groups * kh * kw for a conv), bias row not counted. */
  inputs: number;
  /** M: outputs of one program (output channels / groups for a conv). */
  outputs: number;
  groups: number;
  /** Program columns P used (samples x sampled positions). */
  samples: number;
  /** Weights of the layer (bias excluded) and their nonzero counts. */
  weights: number;
  nnzBefore: number;
  nnzAfter: number;
  keptFraction: number;
  /** The epsilon used, relative to ||Y||_F of the layer (all groups together). */
  epsilon: number;
  /** ||(W^T X - Y)_Omega||_F / ||Y||_F reached (linear layers: over all entries). */
  relativeError: number;
  /** The worst status over the layer's programs. */
  status: TrimStatus;
  /** Most ADMM iterations over the layer's programs. */
  iterations: number;
  /**
   * Certificate over the layer's programs: the sum of their dual lower bounds on the optimal l1, and
   * (l1 - dualBound) / l1 of the returned weights (bias included): how far from optimal they can be.
   */
  dualBound: number;
  gap: number;
  /** With the `refit` setting: Net-Trim's relativeError before the refit and the mean step t taken. */
  refit: { relativeErrorBefore: number; meanStep: number } | null;
  /**
   * The sensitivity allocation chose a trimmed support (PruneSettings.trimSupports): the gain whose
   * per-output counts it has (or the path's sparsest gain, for a cut past it); status, iterations and the certificate then describe the program it
   * was trimmed from. Null: the support is the program's solution.
   */
  trimmedAt: number | null;
  seconds: number;
}

export interface SkippedReport {
  name: string;
  op: string;
  reason: string;
}

export interface SearchTry {
  epsilon: number;
  removedFraction: number;
  seconds: number;
}

export interface SearchReport {
  target: number;
  tolerance: number;
  reached: boolean;
  /** The largest relative gain used (per-layer values are in the layer reports). */
  epsilon: number;
  removedFraction: number;
  /** Layer solutions of different tries were combined (parallel scheme; see search.ts). */
  mixed: boolean;
  tries: SearchTry[];
  /** With allocation 'sensitivity': the gain each layer got and why (allocate.ts). */
  allocation?: AllocationReport;
}

/** How a sparsity target was shared among the layers (allocate.ts). */
export interface AllocationReport {
  rule: 'sensitivity';
  /** Calibration samples the sensitivity passes ran on. */
  samples: number;
  /** Per layer: its relative gain, nonzero weights, and ||f' - f|| / ||f|| of the outputs with it alone pruned. */
  layers: Array<{ name: string; epsilon: number; nnz: number; outputChange: number }>;
  /** sqrt of the sum of the layers' squared output changes: the proxy the allocation minimised. */
  predictedOutputChange: number;
}

export interface EvalReport {
  samples: number;
  accuracyBefore: number;
  accuracyAfter: number;
  accuracyMagnitude: number;
  /** The Wanda baseline (prune/wanda.ts), also at Net-Trim's per-layer counts. */
  accuracyWanda: number;
  /** The SparseGPT baseline (prune/sparsegpt.ts: it updates the weights it keeps), same counts. */
  accuracySparseGpt: number;
  /** Largest relative change ||f'(x) - f(x)|| / ||f(x)|| of the outputs over these samples. */
  maxOutputChange: number;
  maxOutputChangeMagnitude: number;
  maxOutputChangeWanda: number;
  maxOutputChangeSparseGpt: number;
  /** Structure 'neurons': the L1-norm neuron baseline (Li et al. 2017, l1-neurons.ts) at the same per-layer neuron counts. */
  accuracyL1Neurons?: number;
  maxOutputChangeL1Neurons?: number;
  /**
   * With a sparsity target: top-1 accuracy of every search try (its own network, and the
   * baselines at that try's per-layer counts), for the accuracy-against-kept-fraction chart.
   */
  tries?: EvalTry[];
}

/** Accuracy of one sparsity-search try: Net-Trim at relative gain `epsilon`, and the baselines at its counts. */
export interface EvalTry {
  epsilon: number;
  /** Fraction of the prunable weights kept (1 - removedFraction of the try). */
  keptFraction: number;
  accuracy: number;
  accuracyMagnitude: number;
  accuracyWanda: number;
  accuracySparseGpt: number;
}

export interface PruneReport {
  model: string;
  scheme: Scheme;
  /** The relative gain g that produced this network (the searched one with `sparsity`). */
  epsilon: number;
  gamma: number | null;
  /** The opt-in least-squares refit of the kept weights was applied (not Net-Trim's program). */
  refit: boolean;
  /** How that refit treated the outputs the activation clipped (settings.refitBounds); null without the refit. */
  refitBounds: RefitBounds | null;
  calibrationSamples: number;
  layers: LayerReport[];
  skipped: SkippedReport[];
  total: { weights: number; nnzBefore: number; nnzAfter: number; keptFraction: number; removedFraction: number; seconds: number };
  /** Threads the solves used, and the most programs solved side by side (layer/lanes.ts). */
  threads: { total: number; lanes: number };
  search: SearchReport | null;
  /** Largest relative change of the model's outputs over the calibration samples. */
  maxOutputChange: number;
  eval: EvalReport | null;
  /** ONNX: the written pruned file and the trained one, in bytes and gzipped (node:zlib, level 6). */
  file?: FileReport;
  /** Structure 'neurons': neurons, multiply-adds and parameters before and after (structured.ts). */
  structure?: StructureReport;
}

/** One layer of a structured run: its output neurons (channels), multiply-adds and parameters. */
export interface NeuronLayerReport {
  name: string;
  op: string;
  neuronsBefore: number;
  neuronsAfter: number;
  /** Neurons whose outgoing weights are all zero but that the written model keeps, and why (null: none). */
  keptDead: number;
  reason: string | null;
  /** Multiply-adds per sample (a conv's at every output position), before and after. */
  flopsBefore: number;
  flopsAfter: number;
  /**
   * Weights and biases of the layer before and after; when the written model was shrunk
   * (StructureReport.shrunk), also the per-channel operations after it (BatchNormalization's four vectors).
   */
  paramsBefore: number;
  paramsAfter: number;
  /** The relative gain of the group program that chose this layer's neurons (in the layer reading them), or null. */
  epsilon: number | null;
  /** Program solves the gain search spent on it. */
  tries: number;
}

export interface StructureReport {
  target: KeepTarget | null;
  /** The multiple each layer's neuron count was rounded up to (settings.neuronMultiple). */
  neuronMultiple: number;
  /** neurons: kept / before over the hidden neurons; flops: after / before over the prunable layers. */
  keptNeuronFraction: number;
  keptFlopFraction: number;
  /** Every layer's search landed within its tolerance (max(0.5 / M, 0.01) of its neurons). */
  reached: boolean;
  layers: NeuronLayerReport[];
  neurons: { before: number; after: number };
  flops: { before: number; after: number };
  /** Every float parameter of the model when the backend shrank it (BN included); else the prunable layers'. */
  params: { before: number; after: number };
  /** The written model has the smaller tensors (backend.shrink); false: the zero-masked model was written. */
  shrunk: boolean;
  /** Single weights pruned inside the kept neurons afterwards (weightsAfterNeurons). */
  weightsAfter: boolean;
}

export interface FileReport {
  weightFormat: WeightFormat;
  bytes: number;
  gzipBytes: number;
  trainedBytes: number;
  trainedGzipBytes: number;
}

/** Progress of a run, for bars: a stage, how far it is, and what it works on. */
export interface ProgressEvent {
  stage: 'signals' | 'solve' | 'refit' | 'search' | 'evaluate';
  done: number;
  total: number;
  detail: string;
  /** Live figures of the running step (a solve's iteration and residuals), a few times a second. */
  live?: string;
}

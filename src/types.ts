// The records of the layer solver: settings in, result out (OSQP's settings/info/solution split).

/** How the layer's outputs are produced from W^T x: decides the constraint set of the program. */
export type Activation = 'relu' | 'linear';

/** Whether `epsilon` is a fraction of ||Y||_F (the paper's gain g) or an absolute Frobenius bound. */
export type EpsilonMode = 'relative' | 'absolute';

/**
 * What the program minimizes: 'l1', the sum of |entries| (method.md 1); 'group', the sum over row
 * groups of w_g ||W_g||_2 (method.md 7), which zeroes whole input neurons or channels.
 */
export type Penalty = 'l1' | 'group';

/**
 * How a linear program (no inactive entries) is iterated: 'samples' keeps the P x M blocks of
 * method.md 3, 'gram' only X^T X and X^T Y (an iteration then costs nothing per sample), 'auto'
 * picks the Gram form when there are at least as many samples as inputs. ReLU programs always run
 * in the sample form.
 */
export type LinearForm = 'auto' | 'samples' | 'gram';

/**
 * Over-relaxation alpha in [1, 2) (1 is plain ADMM), or 'auto': 1.8 on programs whose products
 * reach RELAXED_WORK multiply-adds (where an iteration is expensive and 1.8 halves their number),
 * 1 below it (where a whole solve takes milliseconds and plain ADMM's tighter answer is worth more).
 */
export type Relaxation = number | 'auto';

/** Every knob of one layer solve. Defaults live in DEFAULT_SETTINGS (settings.ts) and nowhere else. */
export interface TrimSettings {
  /** Allowed discrepancy on the active outputs; see epsilonMode. Relative default 0.05. */
  epsilon: number;
  epsilonMode: EpsilonMode;
  activation: Activation;
  /** Append a ones row to X so the bias is learned (and pruned) as the last row of W. */
  bias: boolean;
  /** Absolute tolerance of the primal and dual residuals (scaled units, per sqrt(entry)). */
  absTol: number;
  /** Relative tolerance of the primal and dual residuals. */
  relTol: number;
  /** Iteration cap of the ADMM loop. */
  maxIterations: number;
  /** Initial ADMM penalty (in the units after the c0 scaling). */
  rho: number;
  /** Adapt rho by residual balancing (free: rho is not in the linear system). */
  adaptiveRho: boolean;
  /** Over-relaxation alpha in [1, 2), or 'auto' (Relaxation). */
  relaxation: Relaxation;
  /** Outputs above this (after c0 scaling) count as active, in the set Omega. */
  activeThreshold: number;
  /**
   * The returned sparse W must meet the epsilon ball to this fraction of epsilon; a miss tightens
   * the residual tolerances and the solve goes on.
   */
  ballTolerance: number;
  /**
   * ReLU layers: the returned W may lift an inactive output above its cap (0, or V) by at most this
   * fraction of max |Y|; a larger lift tightens the tolerances likewise.
   */
  inactiveTolerance: number;
  /** Cap on conjugate-gradient steps per ADMM iteration (warm-started, so a few suffice). */
  maxCgSteps: number;
  /** Count the bias row in the l1 objective (the paper's choice); false leaves the biases unpenalised. */
  penalizeBias: boolean;
  /** Keep the residuals of every iteration in the result (for tuning and plots). */
  recordHistory: boolean;
  /** Return the final multipliers in `result.duals`, for a neighbouring solve to start from (LayerInput.initialDuals). */
  returnDuals: boolean;
  /**
   * 'l1' (element-wise) or 'group' (whole rows of W: LayerInput.rowGroups, default each row its
   * own group). In group mode the bias row is not penalized.
   */
  penalty: Penalty;
  /** Linear programs: the sample or the Gram form (LinearForm); the result is the same to solver tolerance. */
  form: LinearForm;
}

/** One ADMM iteration as recorded with recordHistory (scaled units). */
export interface IterationRecord {
  primalResidual: number;
  dualResidual: number;
  primalTolerance: number;
  dualTolerance: number;
  rho: number;
  cgSteps: number;
  /**
   * When the returned W2 was checked against the program at this iteration (the residual test
   * passed, or a recheck): its ball error over epsilon and its worst bound violation over max |Y|
   * (NaN for linear programs). The solve ends at the first check within both tolerances.
   */
  check?: { errorOverEpsilon: number; inactiveOverMax: number };
}

/** One layer's calibration signals, sample-major as frameworks store activations. */
export interface LayerInput {
  /** P x N inputs, row p is sample p. */
  inputs: Float32Array;
  /** P x M outputs of the trained layer on the same samples. */
  outputs: Float32Array;
  samples: number; // P
  inputSize: number; // N (without the bias row)
  outputSize: number; // M
  /** Optional P x M slack V for the inactive outputs (cascade scheme); 0 when absent. */
  slack?: Float32Array;
  /**
   * Optional P x M constraint region of each entry (sample-major like outputs), overriding the one
   * `activation` implies: 0 = in the epsilon ball around Y, 1 = bounded above (W^T x <= V),
   * 2 = bounded below (W^T x >= V; needs `slack`). E.g. a Clip(0, c) layer: 1 where Y <= 0 (V = 0),
   * 2 where Y >= c (V = c), 0 in between.
   */
  regions?: Uint8Array;
  /** Optional warm start: N(+1) x M weights (e.g. the previous try of a sparsity search). */
  initialWeights?: Float32Array;
  /**
   * Optional warm start of the multipliers: `duals` of an earlier result on the same inputs (a
   * neighbouring epsilon; returnDuals). With initialWeights and that result's `rho`, the solve starts
   * where the other ended instead of from zero multipliers (bench/README.md, the --sparsity path).
   */
  initialDuals?: Float32Array;
  /**
   * penalty 'group' only (ignored for 'l1'): the group id (an integer >= 0) of each of the N input
   * rows, e.g. for a convolution the kh * kw rows of one input channel share an id. Default: each
   * row its own group. The bias row is never in a group.
   */
  rowGroups?: Int32Array;
  /**
   * penalty 'group' only: the weight w_g of each group id (length > the largest id, entries > 0).
   * Default sqrt(group size), the standard choice when sizes differ.
   */
  groupWeights?: Float32Array;
}

export enum TrimStatus {
  /** Primal and dual residuals met the tolerances. */
  Solved = 'solved',
  /** Tolerances 10x looser than asked were met when the iteration cap was reached. */
  SolvedInaccurate = 'solved-inaccurate',
  /** The iteration cap was reached before even the loose tolerances were met. */
  MaxIterations = 'max-iterations',
  /** A NaN or infinity appeared in the iterates. */
  NonFinite = 'non-finite',
}

export const STATUS_MESSAGES: Readonly<Record<TrimStatus, string>> = Object.freeze({
  [TrimStatus.Solved]: 'converged: primal and dual residuals within tolerance',
  [TrimStatus.SolvedInaccurate]: 'iteration cap reached; residuals within 10x the tolerances',
  [TrimStatus.MaxIterations]: 'iteration cap reached before the residuals met the tolerances',
  [TrimStatus.NonFinite]: 'the iterates became NaN or infinite',
});

/** What a solve returns: the solution and an honest account of how it was reached. */
export interface TrimResult {
  /** N x M row-major weights (row n = input n), exactly sparse. */
  weights: Float32Array;
  /** M biases (the last row of the program's W), or null when bias was off. */
  bias: Float32Array | null;
  inputSize: number;
  outputSize: number;
  /** Nonzero entries among the N x M weights (bias excluded). */
  nnz: number;
  /** Nonzero biases. */
  nnzBias: number;
  /** Sum of |entries| of weights and bias. */
  l1: number;
  /** penalty 'group': input rows with a nonzero weight (bias row excluded), and sum_g w_g ||W_g||_2. */
  rowsKept?: number;
  groupNorm?: number;
  /** ||(W^T X - Y)_Omega||_F / ||Y||_F reached by the returned weights. */
  relativeError: number;
  /** The epsilon used, relative to ||Y||_F. */
  relativeEpsilon: number;
  /**
   * Largest bound violation on Omega^c, (W^T X - V) on upper-bounded and (V - W^T X) on lower-bounded
   * entries (ReLU layers or regions; 0 for linear): > 0 means a violation.
   */
  maxInactive: number;
  /** Same, relative to max |Y|. */
  maxInactiveRelative: number;
  /**
   * Certificate (method.md section 8): a lower bound on the program's optimal objective (the l1 of
   * weights and bias, without the bias when penalizeBias is false), from the dual, and the relative
   * gap (objective - dualBound) / objective of the returned W: it is at most that far from optimal.
   * The gap can be slightly negative only when W crosses the constraints within their tolerances.
   */
  dualBound: number;
  gap: number;
  status: TrimStatus;
  iterations: number;
  /** Final primal and dual residuals and their tolerances (scaled units). */
  primalResidual: number;
  dualResidual: number;
  primalTolerance: number;
  dualTolerance: number;
  /** Final rho and the total number of conjugate-gradient steps. */
  rho: number;
  cgSteps: number;
  /** ||I - A Z||_F of the CG preconditioner (Newton-Schulz approximate inverse of X X^T + I). */
  preconditionerResidual: number;
  /** Which form ran: 'gram' (settings.form) or 'samples'. */
  form: 'samples' | 'gram';
  /** The over-relaxation alpha the solve used (settings.relaxation, 'auto' resolved). */
  relaxation: number;
  /** Bytes of wasm memory this solve reserved (inputs, workspace) and the memory's size after it. */
  workspaceBytes: number;
  memoryBytes: number;
  /** Threads the products used: of the solver's, as many as predicted fastest for this size (src/layer/lanes.ts). */
  threads: number;
  seconds: number;
  /** Per-iteration residuals, when settings.recordHistory. */
  history?: IterationRecord[];
  /** The final multipliers, opaque (padded to the kernels' layout), with returnDuals: a neighbouring solve's initialDuals. */
  duals?: Float32Array;
}

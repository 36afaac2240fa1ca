// The parameter block shared with src/wasm/abi.ts: one f64 per field, inputs then outputs.
// Keep both files in step; test/abi.test.ts compares them.
export const enum Param {
  // inputs: padded sizes (rows of W incl. bias, outputs, samples) and the real ones
  Rows = 0, Cols = 1, Samples = 2, RealRows = 3, RealCols = 4, RealSamples = 5,
  // inputs: addresses (0 = absent)
  XPtr = 6, YPtr = 7, VPtr = 8, WOutPtr = 9, WInitPtr = 10,
  // inputs: settings
  Epsilon = 11, Relu = 12, AbsTol = 13, RelTol = 14, MaxIterations = 15, Rho = 16,
  AdaptiveRho = 17, Relaxation = 18, ActiveThreshold = 19, MaxCgSteps = 20, CgTol = 21,
  // inputs: optional per-iteration trace (TRACE_FIELDS f64 per iteration) and its capacity
  TracePtr = 22, TraceCapacity = 23,
  // inputs: how closely the returned sparse W must meet the constraints (see admm.ts)
  BallTolerance = 24, InactiveTolerance = 25,
  // inputs: ||Y||_F of the real entries, unscaled (the caller has it for the relative epsilon)
  TargetNorm = 26,
  // inputs: threads this solve's products may use, at most those set up (0: all of them)
  Threads = 27,
  // input, written by another thread while the solve runs: nonzero asks the loop to stop
  Cancel = 28,
  // inputs: per-entry regions (P x M f32 signs: 0 ball, +1 z <= V, -1 z >= V; 0 = absent: from Y and
  // the threshold), and the row of W left out of the l1 (the bias row when it is not penalised; -1: none)
  RegionsPtr = 29, FreeRow = 30,
  // input/output: the multipliers of the two splits (P x M for W1 = X W3, then N x M for W2 = W3, padded,
  // unscaled: rho U1 / c0 and rho U2), written at the end when DualsPtr is set and read at the start as a
  // warm start when DualsIn is 1 (a neighbouring program on the same X: the --sparsity path)
  DualsPtr = 31, DualsIn = 47,
  // outputs
  Status = 32, Iterations = 33, PrimalResidual = 34, DualResidual = 35, PrimalTolerance = 36,
  DualTolerance = 37, FinalRho = 38, CgSteps = 39, C0 = 40, ErrorNormSq = 41,
  // lower bound on the optimal ||W||_1 from the dual (certificate.ts)
  DualBound = 42,
  MaxInactive = 43, TargetMax = 44, WorkspaceBytes = 45, InverseResidual = 46,
  // inputs: the group program (groups.ts): i32 group id per padded row of W (0 = element-wise l1),
  // f32 weight per group, the number of groups
  GroupIdsPtr = 48, GroupWeightsPtr = 49, GroupCount = 50,
  // input: which form runs linear programs (0 auto: Gram form when P >= N, 1 samples, 2 Gram where
  // the program allows it); output: 1 when the Gram form ran (gram.ts)
  Form = 51, GramForm = 52,
  Count = 56,
}

export const enum Status {
  Solved = 0, SolvedInaccurate = 1, MaxIterations = 2, NonFinite = 3, OutOfMemory = 4, Cancelled = 5,
}

/**
 * Per-iteration trace record: primal, dual residual, their tolerances, rho, CG steps, and where W2
 * was checked against the program, its ball error over epsilon and worst bound violation over max |Y|
 * (NaN when not checked).
 */
export const TRACE_FIELDS: i32 = 8;

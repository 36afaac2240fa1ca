// The parameter block of assembly/params.ts, seen from TypeScript. Keep both in step.
export const enum Param {
  Rows = 0, Cols = 1, Samples = 2, RealRows = 3, RealCols = 4, RealSamples = 5,
  XPtr = 6, YPtr = 7, VPtr = 8, WOutPtr = 9, WInitPtr = 10,
  Epsilon = 11, Relu = 12, AbsTol = 13, RelTol = 14, MaxIterations = 15, Rho = 16,
  AdaptiveRho = 17, Relaxation = 18, ActiveThreshold = 19, MaxCgSteps = 20, CgTol = 21,
  TracePtr = 22, TraceCapacity = 23,
  BallTolerance = 24, InactiveTolerance = 25, TargetNorm = 26, Threads = 27, Cancel = 28,
  RegionsPtr = 29, FreeRow = 30, DualsPtr = 31, DualsIn = 47,
  Status = 32, Iterations = 33, PrimalResidual = 34, DualResidual = 35, PrimalTolerance = 36,
  DualTolerance = 37, FinalRho = 38, CgSteps = 39, C0 = 40, ErrorNormSq = 41, DualBound = 42,
  MaxInactive = 43, TargetMax = 44, WorkspaceBytes = 45, InverseResidual = 46,
  GroupIdsPtr = 48, GroupWeightsPtr = 49, GroupCount = 50,
  Form = 51, GramForm = 52,
  Count = 56,
}

/** f64 per trace record: primal, dual residual, their tolerances, rho, CG steps, W2's check (assembly/params.ts). */
export const TRACE_FIELDS = 8;

/** assembly/params.ts Status, by code. */
export const WASM_STATUS = ['solved', 'solved-inaccurate', 'max-iterations', 'non-finite', 'out-of-memory', 'cancelled'] as const;

/** The exports of build/nettrim.*.wasm. Addresses are byte offsets into `memory`. */
export interface WasmExports {
  memory: WebAssembly.Memory;
  arenaReset(): void;
  arenaAllocF32(count: number): number;
  /** End of the reserved memory (the arena's top). */
  arenaEnd(): number;
  gemm(
    c: number, ldc: number, a: number, aRow: number, aDepth: number, b: number, ldb: number,
    rows: number, cols: number, depth: number, accumulate: number,
  ): void;
  admmSolve(params: number): void;
  /** The refit's least squares (assembly/refit.ts); the block is laid out as src/wasm/refit-abi.ts. */
  refitSolve(params: number): void;
  /** Threaded builds only. */
  setThreads?(count: number): void;
  limitThreads?(count: number): void;
  quitWorkers?(): void;
}

// The refit's parameter block of assembly/refit-params.ts, seen from TypeScript. Keep both in step.
export const enum RefitParam {
  Rows = 0, Cols = 1, Samples = 2,
  XPtr = 3, YPtr = 4, VPtr = 5, KindPtr = 6, MaskPtr = 7, WPtr = 8,
  Bounded = 9, Tolerance = 10, MaxIterations = 11, MaxCgSteps = 12, CgTol = 13, Ridge = 14,
  Relaxation = 15, Threads = 16, Rho = 17, Soft = 18,
  Method = 19, PerColumn = 25, TracePtr = 26, TraceCapacity = 27, Stall = 28,
  Z0Ptr = 29, Z1Ptr = 30,
  Status = 20, Iterations = 21, CgSteps = 22, MaxViolation = 23, WorkspaceBytes = 24,
  Count = 32,
}

/** f64 fields per iteration of the NCG trace (assembly/refit-ncg.ts NCG_TRACE_FIELDS). */
export const NCG_TRACE_FIELDS = 4;

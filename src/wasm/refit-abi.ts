// The refit's parameter block of assembly/refit-params.ts, seen from TypeScript. Keep both in step.
export const enum RefitParam {
  Rows = 0, Cols = 1, Samples = 2,
  XPtr = 3, YPtr = 4, VPtr = 5, KindPtr = 6, MaskPtr = 7, WPtr = 8,
  Bounded = 9, Tolerance = 10, MaxIterations = 11, MaxCgSteps = 12, CgTol = 13, Ridge = 14,
  Relaxation = 15, Threads = 16, Rho = 17, Soft = 18,
  Status = 20, Iterations = 21, CgSteps = 22, MaxViolation = 23, WorkspaceBytes = 24,
  Count = 32,
}

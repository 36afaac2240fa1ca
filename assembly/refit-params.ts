// The refit's parameter block (refit.ts), shared with src/wasm/refit-abi.ts: one f64 per field.
// Keep both files in step; test/abi.test.ts compares them.
export const enum RefitParam {
  // inputs: padded sizes (rows of W, outputs, samples), all multiples of 8
  Rows = 0, Cols = 1, Samples = 2,
  // inputs: addresses of X (P x n), Y, V, kind (P x m), mask and W (n x m: the start in, the result out)
  XPtr = 3, YPtr = 4, VPtr = 5, KindPtr = 6, MaskPtr = 7, WPtr = 8,
  // inputs: settings
  Bounded = 9, Tolerance = 10, MaxIterations = 11, MaxCgSteps = 12, CgTol = 13, Ridge = 14,
  Relaxation = 15, Threads = 16, Rho = 17, Soft = 18,
  // outputs
  Status = 20, Iterations = 21, CgSteps = 22, MaxViolation = 23, WorkspaceBytes = 24,
  Count = 32,
}

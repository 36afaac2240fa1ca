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
  // inputs: soft bounds by nonlinear CG (1, refit-ncg.ts) or by the ADMM (0); its preconditioner per
  // column (1) or shared (0); an optional trace (NCG_TRACE_FIELDS f64 per iteration) and its capacity;
  // its stop: f fell by less than Stall f over the last 10 iterations; where X W of the start and of
  // the result go (f64, Samples x Cols; 0: not computed)
  Method = 19, PerColumn = 25, TracePtr = 26, TraceCapacity = 27, Stall = 28,
  Z0Ptr = 29, Z1Ptr = 30,
  // outputs
  Status = 20, Iterations = 21, CgSteps = 22, MaxViolation = 23, WorkspaceBytes = 24,
  Count = 32,
}

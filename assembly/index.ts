// The module's exports: the arena, the product kernel (exported for tests and benchmarks) and the
// layer solver. src/wasm/interface.ts is the only caller.
export { arenaReset, arenaAlloc, arenaAllocF32, arenaUsed } from './memory';
export { gemm } from './gemm';
export { setThreads, quitWorkers } from './threads';
import { gemmLocal } from './gemm';
import { workerLoop } from './threads';

/** A worker thread's entry (threaded builds): serves product slices until quitWorkers. */
export function workerRun(id: i32, count: i32): void {
  workerLoop(gemmLocal, id, count);
}
export { admmSolve, paramsAlloc } from './admm';

/** 1 when this build uses SIMD128, 2 with relaxed SIMD, 0 for the scalar reference build. */
export function kernelFlavour(): i32 {
  if (ASC_FEATURE_RELAXED_SIMD) return 2;
  return ASC_FEATURE_SIMD ? 1 : 0;
}

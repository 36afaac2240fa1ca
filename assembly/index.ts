// The module's exports: the arena, the product kernel (exported for tests and benchmarks), the
// layer solver and the worker-thread entry. src/wasm/interface.ts and src/wasm/pool.ts are the callers.
import { gemmLocal } from './gemm';
import { gemm64Local } from './gemm64';
import { workerLoop } from './threads';

export { arenaReset, arenaAllocF32, arenaEnd } from './memory';
export { gemm } from './gemm';
export { admmSolve } from './admm';
export { setThreads, limitThreads, quitWorkers } from './threads';

/** A worker thread's entry (threaded builds): serves product slices until quitWorkers. */
export function workerRun(id: i32): void {
  workerLoop(gemmLocal, gemm64Local, id);
}
export { refitSolve } from './refit';

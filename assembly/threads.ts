// Fork-join of the products across threads that share this module's memory (threaded builds only).
// Thread 0 (the caller of admmSolve) posts a product into the control block, wakes the workers,
// computes its own slice of rows, and waits until every worker has reported. Each 4-row tile of C
// is computed by the same code whichever thread owns it, so results do not depend on the thread count.

// Control block, static so every instance sees it at the same address: i32 slots.
const CONTROL: usize = memory.data(128, 64);
const GENERATION: usize = 0; // bumped once per posted job; workers wait on it
const DONE: usize = 4; // workers that finished the current job
const KIND: usize = 8; // what the job is
const ARGS: usize = 16; // the product's eleven arguments
const PARTS: usize = 64; // threads taking part in the current job: worker ids from PARTS on only report

const JOB_PRODUCT: i32 = 1;
const JOB_QUIT: i32 = 2;
const JOB_PRODUCT64: i32 = 3; // the Gram form's float64 product (gemm64.ts)

// Threads started (thread 0 plus setUp - 1 workers in workerLoop), and those taking part in the
// next jobs (a small program uses fewer: admm.ts). Only thread 0's instance reads them.
let setUp: i32 = 1;
let threadCount: i32 = 1;
// This instance's thread: 0 for the caller's, set by workerLoop in a worker's.
let myId: i32 = 0;

/** Which thread runs this instance (0: the caller's). */
export function threadId(): i32 {
  return myId;
}

/** Sets how many threads (the caller plus threads - 1 workers running workerRun) share the work. */
export function setThreads(count: i32): void {
  setUp = max(1, count);
  threadCount = setUp;
}

/** Lets only `count` of the threads set up take part in the next jobs (the others idle). */
export function limitThreads(count: i32): void {
  threadCount = min(max(1, count), setUp);
}

export function getThreads(): i32 {
  return threadCount;
}

/** The product kernel a slice runs: C = A'B over `rows` rows starting at the given pointers. */
type Kernel = (c: usize, ldc: i32, a: usize, aRow: i32, aDepth: i32, b: usize, ldb: i32,
  rows: i32, cols: i32, depth: i32, accumulate: bool) => void;

/** Runs the product on all threads. Only valid in threaded builds with threadCount > 1. */
export function forkJoinProduct(
  kernel: Kernel, c: usize, ldc: i32, a: usize, aRow: i32, aDepth: i32, b: usize, ldb: i32,
  rows: i32, cols: i32, depth: i32, accumulate: bool,
): void {
  forkJoin(JOB_PRODUCT, kernel, c, ldc, a, aRow, aDepth, b, ldb, rows, cols, depth, accumulate);
}

/** The float64 product on all threads (gemm64.ts; strides in f32 elements, two per double). */
export function forkJoinProduct64(
  kernel: Kernel, c: usize, ldc: i32, a: usize, aRow: i32, aDepth: i32, b: usize, ldb: i32,
  rows: i32, cols: i32, depth: i32, accumulate: bool,
): void {
  forkJoin(JOB_PRODUCT64, kernel, c, ldc, a, aRow, aDepth, b, ldb, rows, cols, depth, accumulate);
}

function forkJoin(
  kind: i32, kernel: Kernel, c: usize, ldc: i32, a: usize, aRow: i32, aDepth: i32, b: usize, ldb: i32,
  rows: i32, cols: i32, depth: i32, accumulate: bool,
): void {
  if (!ASC_FEATURE_THREADS) return;
  const args = CONTROL + ARGS;
  store<u32>(args, <u32>c); store<i32>(args, ldc, 4); store<u32>(args, <u32>a, 8); store<i32>(args, aRow, 12);
  store<i32>(args, aDepth, 16); store<u32>(args, <u32>b, 20); store<i32>(args, ldb, 24); store<i32>(args, rows, 28);
  store<i32>(args, cols, 32); store<i32>(args, depth, 36); store<i32>(args, accumulate ? 1 : 0, 40);
  post(kind);
  runSlice(kernel, 0, threadCount);
  waitForWorkers(setUp - 1);
}

/** Posts a job to every worker (those beyond threadCount only report back). */
function post(kind: i32): void {
  store<i32>(CONTROL + KIND, kind);
  store<i32>(CONTROL + PARTS, threadCount);
  atomic.store<i32>(CONTROL + DONE, 0);
  atomic.add<i32>(CONTROL + GENERATION, 1);
  atomic.notify(CONTROL + GENERATION, setUp - 1);
}

/**
 * A worker's whole life: wait for a job, run its slice (of `kernel`'s product, or `product64`'s for
 * the float64 one), report; until told to quit.
 */
export function workerLoop(kernel: Kernel, product64: Kernel, id: i32): void {
  if (!ASC_FEATURE_THREADS) return;
  myId = id;
  // Workers start before the first job and the generation starts at 0. Reading it here instead
  // would race: thread 0 may post the first job between the worker's "ready" and this line.
  let seen = 0;
  while (true) {
    let now = atomic.load<i32>(CONTROL + GENERATION);
    while (now == seen) {
      memory.atomic.wait32(CONTROL + GENERATION, seen, -1);
      now = atomic.load<i32>(CONTROL + GENERATION);
    }
    seen = now;
    const kind = load<i32>(CONTROL + KIND), parts = load<i32>(CONTROL + PARTS);
    if (kind == JOB_QUIT) return;
    if (id < parts) runSlice(kind == JOB_PRODUCT64 ? product64 : kernel, id, parts);
    atomic.add<i32>(CONTROL + DONE, 1);
    atomic.notify(CONTROL + DONE, 1);
  }
}

/** Tells every worker to return from workerLoop. */
export function quitWorkers(): void {
  if (!ASC_FEATURE_THREADS) return;
  store<i32>(CONTROL + KIND, JOB_QUIT);
  atomic.add<i32>(CONTROL + GENERATION, 1);
  atomic.notify(CONTROL + GENERATION, -1);
}

/** Rows [start, end) of thread `id` out of `count`, on 4-row tile boundaries. */
function runSlice(kernel: Kernel, id: i32, count: i32): void {
  const args = CONTROL + ARGS;
  const c = <usize>load<u32>(args), ldc = load<i32>(args, 4), a = <usize>load<u32>(args, 8);
  const aRow = load<i32>(args, 12), aDepth = load<i32>(args, 16), b = <usize>load<u32>(args, 20);
  const ldb = load<i32>(args, 24), rows = load<i32>(args, 28), cols = load<i32>(args, 32);
  const depth = load<i32>(args, 36), accumulate = load<i32>(args, 40) != 0;
  const tiles = rows >> 2;
  const start = <i32>((<i64>tiles * id) / count) << 2, end = <i32>((<i64>tiles * (id + 1)) / count) << 2;
  if (end <= start) return;
  kernel(
    c + ((<usize>start * ldc) << 2), ldc, a + ((<usize>start * aRow) << 2), aRow, aDepth, b, ldb,
    end - start, cols, depth, accumulate,
  );
}

function waitForWorkers(workers: i32): void {
  let spins = 0;
  while (true) {
    const done = atomic.load<i32>(CONTROL + DONE);
    if (done >= workers) return;
    // a short spin covers the usual case (workers finish within microseconds of us), then sleep
    if (++spins < 2000) continue;
    memory.atomic.wait32(CONTROL + DONE, done, 1000000);
  }
}

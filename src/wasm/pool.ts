// Threads (Node, Deno and Bun through node:worker_threads): one shared wasm memory, instances of
// the threaded build over it, and workers of two kinds:
//  - helpers, parked in wasm, each computing its slice of every product (assembly/threads.ts);
//  - the driver, which runs whole solves (admmSolve) as thread 0, so that the caller's thread is free
//    while a layer is solved (progress bars draw, several solvers run side by side).
// The caller's own instance reserves memory and writes the inputs; it can also be thread 0 itself
// (a synchronous solve), as long as the driver is idle.
import type { WasmExports } from './abi.ts';
import { readPackageBuild, wasmImports, type KernelFlavour } from './load.ts';

/** The threaded instance of the caller, its driver, and the way to stop all workers. */
export interface ThreadedKernels {
  exports: WasmExports;
  flavour: KernelFlavour;
  threads: number;
  /** Runs admmSolve(block) on the driver worker; resolves when it returns. */
  solveOnDriver(block: number): Promise<void>;
  close(): Promise<void>;
}

// 4 GiB: the most wasm32 can address; shared memory must declare its maximum up front.
const MAX_PAGES = 65536;

/** Cores the host offers (1 where it cannot say). */
export async function availableThreads(): Promise<number> {
  const os = await import('node:os').catch(() => null);
  return os ? (os.availableParallelism?.() ?? os.cpus().length) : 1;
}

/**
 * Starts a threaded kernel set of `threads` threads (the driver and threads - 1 helpers), or returns
 * null when the host has no worker threads or validates no threaded build.
 */
export async function startThreads(threads: number, wanted: readonly KernelFlavour[]): Promise<ThreadedKernels | null> {
  const workerThreads = await import('node:worker_threads').catch(() => null);
  if (!workerThreads || threads < 1) return null;
  for (const flavour of wanted) {
    if (flavour === 'scalar') continue;
    const bytes = await readPackageBuild(`${flavour}-threads`).catch(() => null);
    if (!bytes || !WebAssembly.validate(bytes)) continue;
    const module = await WebAssembly.compile(bytes);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    const instance = await WebAssembly.instantiate(module, wasmImports(memory));
    const exports = { ...(instance.exports as object), memory } as unknown as WasmExports;
    const Worker = workerThreads.Worker;
    const [driver, ...helpers] = await Promise.all([
      startWorker(Worker, { module, memory, role: 'driver', id: 0, count: threads }),
      ...Array.from({ length: threads - 1 }, (_, k) => startWorker(Worker, { module, memory, role: 'helper', id: k + 1, count: threads })),
    ]);
    exports.setThreads!(threads);
    return {
      exports, flavour, threads,
      solveOnDriver: (block) => runOnDriver(driver!, block),
      async close() {
        exports.quitWorkers!();
        await Promise.all([driver!, ...helpers].map((w) => w.terminate()));
      },
    };
  }
  return null;
}

type WorkerCtor = typeof import('node:worker_threads').Worker;
type NodeWorker = InstanceType<WorkerCtor>;

/** One solve on the driver. The worker is kept referenced meanwhile: an idle process must not exit mid-solve. */
function runOnDriver(driver: NodeWorker, block: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err: Error | null) => {
      driver.off('message', onMessage).off('error', onError).off('exit', onExit);
      driver.unref();
      if (err) reject(err);
      else resolve();
    };
    const onMessage = (m: { ok: boolean; message?: string }) => settle(m.ok ? null : new Error(m.message));
    const onError = (err: Error) => settle(err);
    const onExit = () => settle(new Error('nettrim: the solver was closed while it was solving'));
    driver.on('message', onMessage).on('error', onError).on('exit', onExit);
    driver.ref();
    driver.postMessage(block);
  });
}

// A worker's whole program, as source: it instantiates the threaded build over the shared memory and
// says it is ready. A helper then serves product slices inside wasm until the quit job; the driver
// runs admmSolve for each block address it is sent and answers { ok } or { ok: false, message }.
// Given as a string (eval) so it needs no file of its own: the same under tsx, from dist/ and bundled.
// It must not depend on the parent's flags (a parent run with --input-type=module would make the
// eval'd code a module without require), hence execArgv: [] and the getBuiltinModule fallback.
const WORKER_SOURCE = `
const { parentPort, workerData } = typeof require === 'function'
  ? require('node:worker_threads') : process.getBuiltinModule('node:worker_threads');
const { module, memory, role, id, count } = workerData;
const abort = (_m, _f, line, column) => { throw new Error('nettrim worker ' + id + ': wasm abort at ' + line + ':' + column); };
WebAssembly.instantiate(module, { env: { memory, abort } }).then((instance) => {
  const wasm = instance.exports;
  if (role === 'helper') {
    parentPort.postMessage('ready');
    wasm.workerRun(id, count);
    return;
  }
  wasm.setThreads(count);
  parentPort.on('message', (block) => {
    try {
      wasm.admmSolve(block);
      parentPort.postMessage({ ok: true });
    } catch (err) {
      parentPort.postMessage({ ok: false, message: String((err && err.message) || err) });
    }
  });
  parentPort.postMessage('ready');
});
`;

async function startWorker(Worker: WorkerCtor, data: object): Promise<NodeWorker> {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: data, execArgv: [] });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  worker.unref(); // parked workers must not keep the process alive
  return worker;
}

// Threads for the products (Node, Deno and Bun through node:worker_threads): one shared wasm
// memory, the caller's instance as thread 0 and `threads - 1` workers parked in wasm.
import type { WasmExports } from './abi.ts';
import { readPackageBuild, wasmImports, type KernelFlavour } from './load.ts';

/** The threaded instance of thread 0 and the way to stop its workers. */
export interface ThreadedKernels {
  exports: WasmExports;
  flavour: KernelFlavour;
  threads: number;
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
 * Starts a threaded kernel set, or returns null when the host has no worker threads or validates no
 * threaded build (the caller then runs single-threaded).
 */
export async function startThreads(threads: number, wanted: readonly KernelFlavour[]): Promise<ThreadedKernels | null> {
  const workerThreads = await import('node:worker_threads').catch(() => null);
  if (!workerThreads || threads < 2) return null;
  for (const flavour of wanted) {
    if (flavour === 'scalar') continue;
    const bytes = await readPackageBuild(`${flavour}-threads`).catch(() => null);
    if (!bytes || !WebAssembly.validate(bytes)) continue;
    const module = await WebAssembly.compile(bytes);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
    const instance = await WebAssembly.instantiate(module, wasmImports(memory));
    const exports = { ...(instance.exports as object), memory } as unknown as WasmExports;
    const workers = await Promise.all(
      Array.from({ length: threads - 1 }, (_, k) => startWorker(workerThreads.Worker, { module, memory, id: k + 1, count: threads })),
    );
    exports.setThreads!(threads);
    return {
      exports, flavour, threads,
      async close() {
        exports.quitWorkers!();
        await Promise.all(workers.map((w) => w.terminate()));
      },
    };
  }
  return null;
}

type WorkerCtor = typeof import('node:worker_threads').Worker;

// A worker's whole program, as source: it instantiates the threaded build over the shared memory,
// says it is ready, then serves product slices inside wasm until thread 0 posts the quit job.
// Given as a string (eval) so it needs no file of its own: the same under tsx, from dist/ and bundled.
// It must not depend on the parent's flags (a parent run with --input-type=module would make the
// eval'd code a module without require), hence execArgv: [] and the getBuiltinModule fallback.
const WORKER_SOURCE = `
const { parentPort, workerData } = typeof require === 'function'
  ? require('node:worker_threads') : process.getBuiltinModule('node:worker_threads');
const { module, memory, id, count } = workerData;
const abort = (_m, _f, line, column) => { throw new Error('nettrim worker ' + id + ': wasm abort at ' + line + ':' + column); };
WebAssembly.instantiate(module, { env: { memory, abort } }).then((instance) => {
  parentPort.postMessage('ready');
  instance.exports.workerRun(id, count);
});
`;

async function startWorker(Worker: WorkerCtor, data: object) {
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: data, execArgv: [] });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  worker.unref(); // parked workers must not keep the process alive
  return worker;
}

// Threads: one shared wasm memory, instances of the threaded build over it, and workers of two kinds:
//  - helpers, parked in wasm, each computing its slice of every product (assembly/threads.ts);
//  - the driver, which runs whole solves (admmSolve) as thread 0, so that the caller's thread is free
//    while a layer is solved (progress bars draw, several solvers run side by side, and a browser's
//    main thread, which may not block, never waits on the workers).
// The caller's own instance reserves memory and writes the inputs; it can also be thread 0 itself
// (a synchronous solve), as long as the driver is idle.
// Workers are node:worker_threads where the host has them (Node, Deno, Bun) and Web Workers in
// browsers, which also need cross-origin isolation for shared memory (docs/runtimes.md).
import type { WasmExports } from './abi.ts';
import { nodeBuiltin } from './builtin.ts';
import { readThreadedBuild, wasmImports, type KernelFlavour } from './load.ts';
import { spawnWorker, workerHost, type WorkerHandle } from './workers.ts';

/** The threaded instance of the caller, its driver, and the way to stop all workers. */
export interface ThreadedKernels {
  exports: WasmExports;
  flavour: KernelFlavour;
  threads: number;
  /** Runs admmSolve(block) on the driver worker; resolves when it returns. */
  solveOnDriver(block: number): Promise<void>;
  /** Runs refitSolve(block) (the refit's least squares) on the driver worker likewise. */
  refitOnDriver(block: number): Promise<void>;
  close(): Promise<void>;
}

// 4 GiB: the most wasm32 can address; shared memory must declare its maximum up front.
const MAX_PAGES = 65536;

/** Cores the host offers (1 where it cannot say). */
export async function availableThreads(): Promise<number> {
  const os = await nodeBuiltin<typeof import('node:os')>('node:os');
  if (os) return os.availableParallelism?.() ?? os.cpus().length;
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 1);
}

/**
 * Starts a threaded kernel set of `threads` threads (the driver and threads - 1 helpers), or returns
 * null when the host has no workers or shared memory, or validates no threaded build.
 */
export async function startThreads(threads: number, wanted: readonly KernelFlavour[]): Promise<ThreadedKernels | null> {
  const host = await workerHost();
  if (!host || threads < 1) return null;
  for (const flavour of wanted) {
    if (flavour === 'scalar') continue;
    const bytes = await readThreadedBuild(flavour).catch(() => null);
    if (!bytes || !(bytes instanceof WebAssembly.Module || WebAssembly.validate(bytes))) continue;
    let module: WebAssembly.Module, memory: WebAssembly.Memory, instance: WebAssembly.Instance;
    try {
      module = bytes instanceof WebAssembly.Module ? bytes : await WebAssembly.compile(bytes);
      memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
      instance = await WebAssembly.instantiate(module, wasmImports(memory));
    } catch {
      return null; // no shared memory here (a browser page without cross-origin isolation), or no compiling
    }
    const exports = { ...(instance.exports as object), memory } as unknown as WasmExports;
    const [driver, ...helpers] = await Promise.all([
      spawnWorker(host, WORKER_SOURCE, { module, memory, role: 'driver', id: 0, count: threads }),
      ...Array.from({ length: threads - 1 }, (_, k) => spawnWorker(host, WORKER_SOURCE, { module, memory, role: 'helper', id: k + 1, count: threads })),
    ]);
    exports.setThreads!(threads);
    return {
      exports, flavour, threads,
      solveOnDriver: (block) => runOnDriver(driver!, block),
      refitOnDriver: (block) => runOnDriver(driver!, { refit: block }),
      async close() {
        exports.quitWorkers!();
        await Promise.all([driver!, ...helpers].map((w) => w.terminate()));
      },
    };
  }
  return null;
}

/** One solve (a block address) or refit ({ refit: address }) on the driver. */
function runOnDriver(driver: WorkerHandle, block: number | { refit: number }): Promise<void> {
  return driver.request(block).then((m) => {
    const reply = m as { ok: boolean; message?: string };
    if (!reply.ok) throw new Error(reply.message);
  });
}

// A worker's whole program, as source (no file of its own: the same under tsx, from dist/ and
// bundled). `start` gets the worker's data, a way to post and a way to listen, from the prelude
// workers.ts puts before it for the host. It instantiates the threaded build over the shared memory
// and says it is ready. A helper then serves product slices inside wasm until the quit job; the
// driver runs admmSolve for each block address it is sent (refitSolve for { refit: address }) and
// answers { ok } or { ok: false, message }.
const WORKER_SOURCE = `
function start(data, post, listen) {
  const { module, memory, role, id, count } = data;
  const abort = (_m, _f, line, column) => { throw new Error('nettrim worker ' + id + ': wasm abort at ' + line + ':' + column); };
  WebAssembly.instantiate(module, { env: { memory, abort } }).then((instance) => {
    const wasm = instance.exports;
    if (role === 'helper') {
      post('ready');
      wasm.workerRun(id);
      return;
    }
    wasm.setThreads(count);
    listen((block) => {
      try {
        if (typeof block === 'number') wasm.admmSolve(block);
        else wasm.refitSolve(block.refit);
        post({ ok: true });
      } catch (err) {
        post({ ok: false, message: String((err && err.message) || err) });
      }
    });
    post('ready');
  });
}
`;

// A solve in a Web Worker without shared memory: for pages that are not cross-origin isolated (most
// of the web), where threads are not allowed but a blocked main thread would freeze the page. The
// worker runs its own instance of the same single-threaded build. The caller's instance lays the
// solve out as always; its memory up to the arena's end (static data, parameter block, inputs) is
// copied over, the solve runs there, and the worker's memory up to its arena's end comes back into
// the caller's, where the results are read as after a solve on the calling thread.
// No live figures and no cancelling inside an iteration: nothing is shared while it runs. An abort
// terminates the worker, and the next solve starts a new one.
import type { WasmExports } from './abi.ts';
import { spawnWorker, type WorkerHandle, type WorkerHost } from './workers.ts';

/** The worker of one solver. */
export interface SoloWorker {
  /** Runs admmSolve(block) on a copy of `ex`'s memory and copies the worker's memory back. */
  solve(ex: WasmExports, block: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Starts the worker (a compiled single-threaded build), or returns null when it cannot start. */
export async function startSolo(host: WorkerHost, module: WebAssembly.Module): Promise<SoloWorker | null> {
  const start = () => spawnWorker(host, SOLO_SOURCE, { module });
  let worker: WorkerHandle | null = await start().catch(() => null);
  if (!worker) return null;
  return {
    async solve(ex, block, signal) {
      signal?.throwIfAborted();
      worker ??= await start();
      const current = worker;
      const image = ex.memory.buffer.slice(0, ex.arenaEnd());
      const abort = () => { void current.terminate(); };
      signal?.addEventListener('abort', abort, { once: true });
      try {
        const reply = await current.request({ image, block }) as { ok: boolean; image?: ArrayBuffer; message?: string };
        if (!reply.ok) throw new Error(reply.message);
        const back = reply.image!;
        const grow = back.byteLength - ex.memory.buffer.byteLength;
        if (grow > 0) ex.memory.grow(Math.ceil(grow / 65536));
        new Uint8Array(ex.memory.buffer).set(new Uint8Array(back));
      } catch (err) {
        if (signal?.aborted) {
          worker = null; // terminated: the next solve starts another
          throw signal.reason;
        }
        throw err;
      } finally {
        signal?.removeEventListener('abort', abort);
      }
    },
    async close() {
      await worker?.terminate();
      worker = null;
    },
  };
}

// The worker's program (workers.ts adds the prelude that calls start): the caller's memory image in,
// the solve, the worker's memory image out.
const SOLO_SOURCE = `
function start(data, post, listen) {
  const abort = (_m, _f, line, column) => { throw new Error('nettrim worker: wasm abort at ' + line + ':' + column); };
  WebAssembly.instantiate(data.module, { env: { abort } }).then((instance) => {
    const wasm = instance.exports;
    listen(({ image, block }) => {
      try {
        const memory = wasm.memory;
        const grow = image.byteLength - memory.buffer.byteLength;
        if (grow > 0) memory.grow(Math.ceil(grow / 65536));
        new Uint8Array(memory.buffer).set(new Uint8Array(image));
        wasm.admmSolve(block);
        post({ ok: true, image: memory.buffer.slice(0, wasm.arenaEnd()) });
      } catch (err) {
        post({ ok: false, message: String((err && err.message) || err) });
      }
    });
    post('ready');
  });
}
`;

// One small interface over the two kinds of worker the thread pool can start: node:worker_threads
// (Node, Deno, Bun) and Web Workers (browsers; shared wasm memory needs the page to be
// cross-origin isolated). A worker's program is source text defining `start(data, post, listen)`;
// the prelude added here hands it the worker's data and its messaging for the host.

import { nodeBuiltin } from './builtin.ts';

type NodeWorkerCtor = typeof import('node:worker_threads').Worker;
type NodeWorker = InstanceType<NodeWorkerCtor>;

interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string }) => void) | null;
}
type WebWorkerCtor = new (url: string) => WebWorker;

export type WorkerHost = { kind: 'node'; Worker: NodeWorkerCtor } | { kind: 'web'; Worker: WebWorkerCtor };

/** A started worker that answers each message with one message. */
export interface WorkerHandle {
  /** Posts `message`; resolves with the worker's next message, rejects if it fails or is terminated first. */
  request(message: unknown): Promise<unknown>;
  terminate(): Promise<void>;
}

/**
 * The kind of worker this host can start with shared memory (threads), or null: no workers, or a
 * page that is not cross-origin isolated (for which see webWorkerHost).
 */
export async function workerHost(): Promise<WorkerHost | null> {
  const threads = await nodeBuiltin<typeof import('node:worker_threads')>('node:worker_threads');
  if (threads?.Worker) return { kind: 'node', Worker: threads.Worker };
  const web = webWorkerHost();
  return web && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true ? web : null;
}

/** Web Workers, shared memory or not (a browser page; not Node, Deno or Bun, which use workerHost). */
export function webWorkerHost(): WorkerHost | null {
  const g = globalThis as { Worker?: WebWorkerCtor; Blob?: unknown; process?: unknown };
  if (g.process !== undefined || typeof g.Worker !== 'function' || typeof g.Blob !== 'function') return null;
  return { kind: 'web', Worker: g.Worker };
}

// It must not depend on the parent's flags (a Node parent run with --input-type=module would make
// eval'd code a module without require), hence execArgv: [] and the getBuiltinModule fallback.
const NODE_PRELUDE = `
const { parentPort, workerData } = typeof require === 'function'
  ? require('node:worker_threads') : process.getBuiltinModule('node:worker_threads');
start(workerData, (m) => parentPort.postMessage(m), (f) => parentPort.on('message', f));
`;

// A Web Worker gets its data as the first message.
const WEB_PRELUDE = `
self.onmessage = (first) => {
  let listener = null;
  self.onmessage = (e) => { if (listener) listener(e.data); };
  start(first.data, (m) => self.postMessage(m), (f) => { listener = f; });
};
`;

/** Starts a worker running `source` with `data` and waits for its first message (it is ready). */
export async function spawnWorker(host: WorkerHost, source: string, data: object): Promise<WorkerHandle> {
  return host.kind === 'node' ? spawnNode(host.Worker, source, data) : spawnWeb(host.Worker, source, data);
}

async function spawnNode(Worker: NodeWorkerCtor, source: string, data: object): Promise<WorkerHandle> {
  const worker: NodeWorker = new Worker(source + NODE_PRELUDE, { eval: true, workerData: data, execArgv: [] });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', () => resolve());
    worker.once('error', reject);
  });
  worker.unref(); // an idle worker must not keep the process alive; a busy one must (see request)
  return {
    request: (message) => new Promise((resolve, reject) => {
      const settle = (err: Error | null, reply?: unknown) => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        worker.unref();
        if (err) reject(err);
        else resolve(reply);
      };
      const onMessage = (reply: unknown) => settle(null, reply);
      const onError = (err: Error) => settle(err);
      const onExit = () => settle(new Error('nettrim: the solver was closed while it was solving'));
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
      worker.ref();
      worker.postMessage(message);
    }),
    terminate: async () => { await worker.terminate(); },
  };
}

async function spawnWeb(Worker: WebWorkerCtor, source: string, data: object): Promise<WorkerHandle> {
  const url = URL.createObjectURL(new Blob([source + WEB_PRELUDE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  // the one pending request's settle function (the driver serves one solve at a time)
  let pending: ((err: Error | null, reply?: unknown) => void) | null = null;
  await new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => reject(new Error(`nettrim: a worker failed to start: ${e.message ?? 'unknown error'}`));
    worker.postMessage(data);
  });
  worker.onmessage = (e) => pending?.(null, e.data);
  worker.onerror = (e) => pending?.(new Error(`nettrim: worker error: ${e.message ?? 'unknown error'}`));
  return {
    request: (message) => new Promise((resolve, reject) => {
      pending = (err, reply) => {
        pending = null;
        if (err) reject(err);
        else resolve(reply);
      };
      worker.postMessage(message);
    }),
    terminate: async () => {
      worker.terminate();
      pending?.(new Error('nettrim: the solver was closed while it was solving'));
    },
  };
}

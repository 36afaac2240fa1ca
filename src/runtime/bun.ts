// Entry for Bun (the `bun` export condition): as Node, the builds are read from the package with
// node:fs; Bun validates relaxed SIMD. Threads through node:worker_threads, as in Node.
export * from '../index.ts';

// Entry for Deno 2 (the `deno` export condition): as Node, the builds are read from the package with
// node:fs (needs --allow-read on the package's folder); Deno validates relaxed SIMD. Threads through
// node:worker_threads, as in Node.
export * from '../index.ts';

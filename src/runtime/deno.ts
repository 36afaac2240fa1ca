// Entry for Deno 2 (the `deno` export condition): as Node, the builds are read from the package with
// node:fs (needs --allow-read on the package's folder); Deno validates relaxed SIMD. Single-threaded.
export * from '../index.ts';

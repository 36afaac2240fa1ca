// Entry for Bun (the `bun` export condition): as Node, the builds are read from the package with
// node:fs; Bun validates relaxed SIMD. Single-threaded.
export * from '../index.ts';

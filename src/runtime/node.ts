// Entry for Node (the `node` export condition): the wasm builds are read from the package with
// node:fs, relaxed SIMD where Node validates it (22+; Node 20 runs the SIMD128 build).
// Threads: node:worker_threads over shared memory (src/wasm/pool.ts), one per core by default.
export * from '../index.ts';

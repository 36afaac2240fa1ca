// Entry for Node (the `node` export condition): the wasm builds are read from the package with
// node:fs, relaxed SIMD where Node validates it (22+; Node 20 runs the SIMD128 build).
// Single-threaded for now: solves run on the calling thread (worker threads are a later issue).
export * from '../index.ts';

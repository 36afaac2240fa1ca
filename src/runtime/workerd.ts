// Entry for Cloudflare Workers and workerd (the `workerd` export condition). workerd compiles no wasm
// from bytes ("Wasm code generation disallowed by embedder"), so the SIMD128 build is imported as a
// module, which wrangler (and any bundler told to keep .wasm imports) ships as a compiled module.
// Only that build: a relaxed-SIMD module that a runtime could not compile would stop the whole Worker
// from loading, so it is left to init({ relaxed: module }) for those who want it. Single-threaded.
import simd from '../../build/nettrim.simd.wasm';
import { setHostWasm } from '../wasm/load.ts';

export * from '../index.ts';

setHostWasm(async (flavour) => (flavour === 'simd' ? simd : new Uint8Array(0)));

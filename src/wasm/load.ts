// Finding and compiling the right wasm build for the host: relaxed SIMD where the runtime validates
// it, else SIMD128, else the scalar build. Picked by WebAssembly.validate, never by version.
//
// Where the builds come from depends on the host: Node, Deno and Bun read them from the package with
// node:fs (the default below); the browser and workerd entries (src/runtime/) and init() register
// their own source with setHostWasm before the first solver is made.
import type { WasmExports } from './abi.ts';

export type KernelFlavour = 'relaxed' | 'simd' | 'scalar';
export const FLAVOURS: readonly KernelFlavour[] = ['relaxed', 'simd', 'scalar'];
/** A build's name: a flavour, or the shared-memory build of one (src/wasm/pool.ts). */
export type BuildName = KernelFlavour | 'simd-threads' | 'relaxed-threads';

/** One build: its bytes, or a module the host already compiled (workerd compiles no bytes). */
export type WasmBinary = BufferSource | WebAssembly.Module;

/** Where the host gets wasm builds from: a map of flavour to build, or a loader function. */
export type WasmSource = Partial<Record<KernelFlavour, WasmBinary>> | ((f: KernelFlavour) => Promise<WasmBinary>);

let hostWasm: ((name: BuildName) => Promise<WasmBinary>) | undefined;

/**
 * Sets where solvers created from now on get their builds when given no `source` (init() and the
 * browser and workerd entries call it); undefined goes back to reading the package's files. A host
 * that has no threaded builds answers their names with anything that fails validation.
 */
export function setHostWasm(loader: ((name: BuildName) => Promise<WasmBinary>) | undefined): void {
  hostWasm = loader;
}

/**
 * The build of this flavour that ships with the package: from the host's source when one was set
 * (setHostWasm), else build/nettrim.<flavour>.wasm read with node:fs (Node, Deno and Bun have it).
 */
export async function readBundledWasm(flavour: KernelFlavour): Promise<WasmBinary> {
  if (hostWasm) return hostWasm(flavour);
  return readPackageBuild(flavour);
}

/** The shared-memory build of a flavour: from the host's source when one was set, else the package's file. */
export async function readThreadedBuild(flavour: 'simd' | 'relaxed'): Promise<WasmBinary> {
  const name = `${flavour}-threads` as const;
  return hostWasm ? hostWasm(name) : readPackageBuild(name);
}

/** build/nettrim.<name>.wasm of the package, read with node:fs (`name` is a flavour, or e.g. 'simd-threads'). */
export async function readPackageBuild(name: string): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL(`../../build/nettrim.${name}.wasm`, import.meta.url);
  try {
    const file = await (await nodeFs()).readFile(url);
    return new Uint8Array(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer);
  } catch (err) {
    throw new Error(`nettrim: cannot read the ${name} wasm build at ${url.href}: ${(err as Error).message}` +
      ' (run `npm run build:wasm`, or load the wasm yourself and pass it to init())');
  }
}

/** The first flavour in `wanted` order that this runtime validates (a compiled module counts as valid). */
export async function pickFlavour(
  source: (f: KernelFlavour) => Promise<WasmBinary>, wanted: readonly KernelFlavour[] = FLAVOURS,
): Promise<{ flavour: KernelFlavour; bytes: WasmBinary }> {
  const refused: string[] = [];
  for (const flavour of wanted) {
    const bytes = await source(flavour);
    if (bytes instanceof WebAssembly.Module || WebAssembly.validate(bytes)) return { flavour, bytes };
    refused.push(flavour);
  }
  throw new Error(`nettrim: this runtime validates none of the wasm builds (${refused.join(', ')})`);
}

/** Compiles (unless the host already did) and instantiates one build. */
export async function instantiate(bytes: WasmBinary): Promise<WasmExports> {
  const imports = wasmImports();
  // instantiate(Module) gives the instance itself, instantiate(bytes) a { module, instance } pair
  const instance = bytes instanceof WebAssembly.Module
    ? await WebAssembly.instantiate(bytes, imports)
    : (await WebAssembly.instantiate(bytes, imports)).instance;
  return instance.exports as unknown as WasmExports;
}

/** What every build imports: AssemblyScript's abort, and the memory for the threaded builds. */
export function wasmImports(memory?: WebAssembly.Memory): WebAssembly.Imports {
  const abort = (_msg: number, _file: number, line: number, column: number): never => {
    throw new Error(`nettrim: wasm abort at ${line}:${column}`);
  };
  return { env: memory ? { memory, abort } : { abort } };
}

/**
 * node:fs/promises without a static import, so that browser and workerd bundles (which never call
 * this) need no node:fs stub: process.getBuiltinModule where the runtime has it (Node 20.16+, Deno,
 * Bun), else a dynamic import that bundlers are told to leave alone.
 */
async function nodeFs(): Promise<typeof import('node:fs/promises')> {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const builtin = proc?.getBuiltinModule?.('node:fs/promises');
  if (builtin) return builtin as typeof import('node:fs/promises');
  const specifier = 'node:fs/promises';
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);
}

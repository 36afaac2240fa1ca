// init(): for hosts that load the wasm their own way (a CDN, a service worker's cache, a bundler's
// asset URL, a precompiled module). Solvers created afterwards, trimLayer's shared one included, use it.
import { FLAVOURS, pickFlavour, setHostWasm, type KernelFlavour, type WasmBinary, type WasmSource } from '../wasm/load.ts';

/** What init() takes: one build (bytes, a compiled module, or a fetch Response), a map of builds, or a loader. */
export type InitSource = WasmBinary | Response | WasmSource;

const NONE = new Uint8Array(0); // a flavour the host did not supply: fails validation, the next one is tried

/**
 * Registers the wasm build(s) to use, picks the best flavour this runtime validates, compiles it and
 * returns its name. Call (and await) it before the first trimLayer or LayerSolver.create: solvers
 * already made keep the build they compiled. A single build is taken to be `flavour` (default
 * 'simd', the build the browser and workerd entries ship); pass 'relaxed' or 'scalar' for those.
 *
 * ```ts
 * await init(fetch('/assets/nettrim.simd.wasm'));              // a Response, or a promise of one
 * await init({ relaxed: relaxedBytes, simd: simdBytes });       // the best one this runtime validates
 * await init(compiledModule);                                   // e.g. a .wasm import in workerd
 * ```
 */
export async function init(
  source: InitSource | PromiseLike<InitSource>, flavour: KernelFlavour = 'simd',
): Promise<KernelFlavour> {
  if (!FLAVOURS.includes(flavour)) throw new Error(`nettrim: init: unknown flavour '${flavour}' (want one of ${FLAVOURS.join(', ')})`);
  const loader = await toLoader(await source, flavour);
  const picked = await pickFlavour(loader);
  const module = await compile(picked.bytes, picked.flavour);
  // threaded builds are not init()'s to give: solvers it serves run on one thread
  setHostWasm(async (name) => (name === picked.flavour ? module : isFlavour(name) ? loader(name) : NONE));
  return picked.flavour;
}

async function toLoader(source: InitSource, flavour: KernelFlavour): Promise<(f: KernelFlavour) => Promise<WasmBinary>> {
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok) throw new Error(`nettrim: init: fetching the wasm gave HTTP ${source.status} ${source.statusText} (${source.url || 'no URL'})`);
    const bytes = new Uint8Array(await source.arrayBuffer());
    return async (f) => (f === flavour ? bytes : NONE);
  }
  if (isBuild(source)) return async (f) => (f === flavour ? source : NONE);
  if (typeof source === 'function') return source;
  if (source && typeof source === 'object') {
    const unknown = Object.keys(source).filter((k) => !FLAVOURS.includes(k as KernelFlavour));
    if (unknown.length) throw new Error(`nettrim: init: unknown flavour(s) ${unknown.join(', ')} (want ${FLAVOURS.join(', ')})`);
    const map = source as Partial<Record<KernelFlavour, WasmBinary>>;
    return async (f) => map[f] ?? NONE;
  }
  throw new Error(`nettrim: init: want wasm bytes, a WebAssembly.Module, a Response, a map of flavours or a loader; got ${String(source)}`);
}

function isFlavour(name: string): name is KernelFlavour {
  return (FLAVOURS as readonly string[]).includes(name);
}

function isBuild(v: unknown): v is WasmBinary {
  return v instanceof WebAssembly.Module || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
}

/** Compiles once here, so a broken or refused build fails in init() and not in the first solve. */
async function compile(build: WasmBinary, flavour: KernelFlavour): Promise<WebAssembly.Module> {
  if (build instanceof WebAssembly.Module) return build;
  try {
    return await WebAssembly.compile(build);
  } catch (err) {
    throw new Error(`nettrim: init: cannot compile the ${flavour} build: ${(err as Error).message}` +
      ' (hosts that compile no wasm from bytes, such as workerd, need the WebAssembly.Module a .wasm import gives)');
  }
}

// Finding and compiling the right wasm build for the host: relaxed SIMD where the runtime validates
// it, else SIMD128, else the scalar build. Picked by WebAssembly.validate, never by version.
import type { WasmExports } from './abi.ts';

export type KernelFlavour = 'relaxed' | 'simd' | 'scalar';
export const FLAVOURS: readonly KernelFlavour[] = ['relaxed', 'simd', 'scalar'];

/** Where the host gets wasm bytes from: a map of flavour to bytes, or a loader function. */
export type WasmSource = Partial<Record<KernelFlavour, BufferSource>> | ((f: KernelFlavour) => Promise<BufferSource>);

/** Reads build/nettrim.<flavour>.wasm next to the package (Node, Deno and Bun all have node:fs). */
export async function readBundledWasm(flavour: KernelFlavour): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL(`../../build/nettrim.${flavour}.wasm`, import.meta.url);
  const { readFile } = await import('node:fs/promises');
  try {
    const file = await readFile(url);
    return new Uint8Array(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength) as ArrayBuffer);
  } catch (err) {
    throw new Error(`nettrim: cannot read the ${flavour} wasm build at ${url.pathname}: ${(err as Error).message}` +
      ' (run `npm run build:wasm`)');
  }
}

/** The first flavour in `wanted` order whose bytes this runtime validates. */
export async function pickFlavour(
  source: (f: KernelFlavour) => Promise<BufferSource>, wanted: readonly KernelFlavour[] = FLAVOURS,
): Promise<{ flavour: KernelFlavour; bytes: BufferSource }> {
  const refused: string[] = [];
  for (const flavour of wanted) {
    const bytes = await source(flavour);
    if (WebAssembly.validate(bytes)) return { flavour, bytes };
    refused.push(flavour);
  }
  throw new Error(`nettrim: this runtime validates none of the wasm builds (${refused.join(', ')})`);
}

/** Compiles and instantiates one build. */
export async function instantiate(bytes: BufferSource): Promise<WasmExports> {
  const imports = {
    env: {
      abort(_msg: number, _file: number, line: number, column: number): never {
        throw new Error(`nettrim: wasm abort at ${line}:${column}`);
      },
    },
  };
  const { instance } = await WebAssembly.instantiate(bytes, imports);
  return instance.exports as unknown as WasmExports;
}

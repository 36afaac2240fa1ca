// Node's built-in modules (node:os, node:worker_threads, node:fs) for the parts of the library that
// also go into browser and workerd bundles. No static or literal `import('node:...')`: bundlers would
// stub it (Vite hands the browser an empty object, so `os.cpus` is not a function there) or refuse it
// (webpack 5: "UnhandledSchemeError"). process.getBuiltinModule where the runtime has it (Node
// 20.16+, Deno, Bun); else, where there is a Node-like process, a dynamic import bundlers leave alone.

/** The built-in module `id` (e.g. 'node:os'), or null where the runtime has none (browsers, workerd). */
export async function nodeBuiltin<T>(id: string): Promise<T | null> {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown; versions?: { node?: string } } }).process;
  const builtin = proc?.getBuiltinModule?.(id);
  if (builtin) return builtin as T;
  if (!proc?.versions?.node) return null;
  return import(/* webpackIgnore: true */ /* @vite-ignore */ id).then((m: T) => m, () => null);
}

// Entry for browsers (the `browser` export condition): the builds are fetched from the URL that
// `new URL('...', import.meta.url)` gives. Vite, webpack 5, Parcel and Rollup's URL plugins see that
// pattern and ship the files with the bundle; esbuild keeps it as written (see docs/runtimes.md), and
// init() takes over wherever the files are served from somewhere else. Threads (Web Workers over
// shared memory) need a cross-origin isolated page; elsewhere a solver solves on one thread in a Web
// Worker of its own (src/wasm/solo.ts).
import { setHostWasm, type BuildName } from '../wasm/load.ts';

export * from '../index.ts';

// Literal URLs, one per build, so that bundlers can find them.
const BUILD_URLS: Record<BuildName, () => URL> = {
  relaxed: () => new URL('../../build/nettrim.relaxed.wasm', import.meta.url),
  simd: () => new URL('../../build/nettrim.simd.wasm', import.meta.url),
  scalar: () => new URL('../../build/nettrim.scalar.wasm', import.meta.url),
  'relaxed-threads': () => new URL('../../build/nettrim.relaxed-threads.wasm', import.meta.url),
  'simd-threads': () => new URL('../../build/nettrim.simd-threads.wasm', import.meta.url),
};

setHostWasm(async (flavour) => {
  const url = BUILD_URLS[flavour]();
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`nettrim: fetching the ${flavour} wasm build from ${url.href} gave HTTP ${response.status}` +
      ' (serve the package\'s build/*.wasm there, or load it yourself and call init())');
  }
  return new Uint8Array(await response.arrayBuffer());
});

// init(): wasm that the host loads itself (bytes, a Response, a compiled module, a map of flavours),
// used by every solver made afterwards. In-process in Node; the browser and workerd entries, which
// register their own source the same way, are run for real by test/runtimes.test.ts.
import { readFile } from 'node:fs/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, LayerSolver } from '../../src/index.ts';
import { FLAVOURS, setHostWasm, type KernelFlavour } from '../../src/wasm/load.ts';

const build = (f: KernelFlavour) => readFile(new URL(`../../build/nettrim.${f}.wasm`, import.meta.url)).then((b) => new Uint8Array(b));
const best = async () => {
  for (const f of FLAVOURS) if (WebAssembly.validate(await build(f))) return f;
  throw new Error('no build validates');
};

test.after.each(() => setHostWasm(undefined));

/** A solver made after init() solves a small layer (two identical inputs, one needed). */
async function solvesWith(expected: KernelFlavour) {
  const solver = await LayerSolver.create();
  assert.is(solver.flavour, expected);
  const x = new Float32Array([1, 2, 3, 4, -1, 0.5, 2, 1]); // 8 samples of 1 input
  const r = solver.solve({ inputs: x, outputs: x.map((v) => 2 * v), samples: 8, inputSize: 1, outputSize: 1 },
    { epsilon: 0, activation: 'linear', bias: false });
  assert.ok(Math.abs(r.weights[0] - 2) < 1e-3, `weight ${r.weights[0]}`);
}

test('bytes: taken as the SIMD build unless told otherwise', async () => {
  assert.is(await init(await build('simd')), 'simd');
  await solvesWith('simd');
  assert.is(await init(await build('scalar'), 'scalar'), 'scalar');
  await solvesWith('scalar');
});

test('a Response (or a promise of one), as fetch() gives', async () => {
  assert.is(await init(Promise.resolve(new Response(await build('simd')))), 'simd');
  await solvesWith('simd');
  await refuses(new Response('no such file', { status: 404, statusText: 'Not Found' }), 'HTTP 404');
});

test('a compiled WebAssembly.Module (what a .wasm import gives in workerd)', async () => {
  const module = await WebAssembly.compile(await build('scalar'));
  assert.is(await init(module, 'scalar'), 'scalar');
  await solvesWith('scalar');
});

test('a map of flavours: the best one this runtime validates', async () => {
  const map = { relaxed: await build('relaxed'), simd: await build('simd'), scalar: await build('scalar') };
  const want = await best();
  assert.is(await init(map), want);
  await solvesWith(want);
  assert.is(await init(async (f: KernelFlavour) => map[f]), want);
});

test('what it refuses, with the reason', async () => {
  const refusals: [unknown, string][] = [
    [new Uint8Array([1, 2, 3]), 'validates none'],
    ['nettrim.simd.wasm', 'want wasm bytes'],
    [{ fast: new Uint8Array(8) }, 'unknown flavour(s) fast'],
  ];
  for (const [source, reason] of refusals) await refuses(source, reason);
});

async function refuses(source: unknown, reason: string) {
  const err = await init(source as Uint8Array).then(() => null, (e: Error) => e);
  assert.ok(err, `init accepted ${String(source)}`);
  assert.match(err.message, reason);
}

test.run();

// Threads share the products; the answer must not depend on how many there are.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LayerSolver, type LiveFigures } from '../src/index.ts';
import { WasmKernels } from '../src/wasm/interface.ts';
import { fill, gaussian, plantedRelu, seededRandom } from './helpers/random.ts';

test('a product split over 2 and 3 threads equals the one-thread product bit for bit', async () => {
  const draw = gaussian(seededRandom(3));
  const [rows, cols, depth] = [200, 48, 300];
  const a = fill(rows * depth, draw), b = fill(depth * cols, draw);
  const one = await WasmKernels.create({ threads: 1, flavour: 'simd' });
  for (const threads of [2, 3]) {
    const many = await WasmKernels.create({ threads, flavour: 'simd' });
    assert.is(many.threads, threads, 'the threaded build must start here (Node has worker_threads)');
    for (const transA of [false, true]) {
      const want = one.product(a, b, rows, cols, depth, transA), got = many.product(a, b, rows, cols, depth, transA);
      assert.equal(Array.from(got), Array.from(want), `${threads} threads, transA ${transA}`);
    }
    await many.close();
  }
  // three set up, two taking part: the third must only report, not compute a third of the rows
  const three = await WasmKernels.create({ threads: 3, flavour: 'simd' });
  for (const transA of [false, true]) {
    const want = one.product(a, b, rows, cols, depth, transA);
    assert.equal(Array.from(three.product(a, b, rows, cols, depth, transA, 2)), Array.from(want), `2 of 3 threads, transA ${transA}`);
    assert.equal(Array.from(three.product(a, b, rows, cols, depth, transA)), Array.from(want), `3 of 3 after that, transA ${transA}`);
  }
  await three.close();
});

/** A ReLU layer with a 20%-dense teacher. */
function plantedLayer(seed: number, p: number, n: number, m: number) {
  return plantedRelu(seed, p, n, m, 0.2);
}

// The second layer's P x M blocks are large enough for the element-wise passes to be shared too.
for (const [p, n, m] of [[600, 120, 40], [2000, 100, 40]] as const) test(`a layer solve gives the same weights with 1 and 2 threads (P = ${p}, N = ${n}, M = ${m})`, async () => {
  const layer = plantedLayer(9, p, n, m);
  const results = [];
  for (const threads of [1, 2]) {
    const solver = await LayerSolver.create({ threads });
    assert.is(solver.threads, threads);
    const r = solver.solve(layer, { epsilon: 0.1 });
    assert.is(r.threads, threads, 'the products must run on every thread (the size is above the one-thread cut-off)');
    results.push(r);
    await solver.close();
  }
  const [a, b] = results;
  assert.is(a.status, 'solved');
  assert.is(b.iterations, a.iterations);
  assert.equal(Array.from(b.weights), Array.from(a.weights));
  assert.is(b.l1, a.l1);
});

test('solveAsync runs in the worker: same weights as solve, and the calling thread stays free', async () => {
  const layer = plantedLayer(9, 600, 120, 40);
  for (const threads of [1, 2]) {
    const solver = await LayerSolver.create({ threads, worker: true });
    assert.ok(solver.inWorker, `threads ${threads}: a worker must start here (Node has worker_threads)`);
    const here = solver.solve(layer, { epsilon: 0.1 });
    let turns = 0;
    const tick = setInterval(() => turns++, 0);
    const there = await solver.solveAsync(layer, { epsilon: 0.1 });
    clearInterval(tick);
    assert.ok(turns > 0, `threads ${threads}: the event loop did not turn during solveAsync`);
    assert.is(there.status, 'solved');
    assert.is(there.iterations, here.iterations);
    assert.equal(Array.from(there.weights), Array.from(here.weights));
    await solver.close();
  }
});

test('solveAsync calls on one solver queue up; two solvers solve side by side with the same answers', async () => {
  const layers = [plantedLayer(21, 400, 64, 24), plantedLayer(22, 500, 80, 16), plantedLayer(23, 300, 40, 32)];
  const reference = await LayerSolver.create({ threads: 1, worker: false });
  assert.not.ok(reference.inWorker);
  const want = layers.map((l) => reference.solve(l, { epsilon: 0.1 }));
  const one = await LayerSolver.create({ threads: 1, worker: true });
  const queued = await Promise.all(layers.map((l) => one.solveAsync(l, { epsilon: 0.1 })));
  const other = await LayerSolver.create({ threads: 1, worker: true });
  const [a, b, c] = await Promise.all([one.solveAsync(layers[0]!, { epsilon: 0.1 }), other.solveAsync(layers[1]!, { epsilon: 0.1 }), one.solveAsync(layers[2]!, { epsilon: 0.1 })]);
  for (const [k, got] of [...queued.map((r, k) => [k, r] as const), [0, a], [1, b], [2, c]] as const) {
    assert.equal(Array.from(got.weights), Array.from(want[k]!.weights), `layer ${k}`);
  }
  await Promise.all([one.close(), other.close(), reference.close()]);
});

test('a synchronous solve while an async one runs is refused, and closing mid-solve rejects the solve', async () => {
  const layer = plantedLayer(9, 3000, 300, 120); // a solve of a second or more
  const solver = await LayerSolver.create({ threads: 1, worker: true });
  const running = solver.solveAsync(layer, { epsilon: 0.1 });
  await new Promise((r) => setTimeout(r, 0)); // the queued solve starts
  assert.throws(() => solver.solve(layer), /already solving a layer/);
  const closed = solver.close();
  try {
    await running;
    assert.unreachable('a solve whose solver was closed resolved');
  } catch (err) {
    assert.match((err as Error).message, /closed while it was solving/);
  }
  await closed;
});

test('a tiny program runs on one of the solver\'s threads (fork-join would cost more), with the same answer', async () => {
  const layer = plantedLayer(5, 400, 9, 1);
  const solver = await LayerSolver.create({ threads: 2 });
  const r = solver.solve(layer, { epsilon: 0.1 });
  assert.is(r.threads, 1);
  const lone = await LayerSolver.create({ threads: 1 });
  assert.equal(Array.from(lone.solve(layer, { epsilon: 0.1 }).weights), Array.from(r.weights));
  await Promise.all([solver.close(), lone.close()]);
});

test('an AbortSignal stops a solve in the worker; the solver then solves the next layer as a fresh one would', async () => {
  const big = plantedLayer(9, 3000, 300, 120); // a second or more
  const small = plantedLayer(21, 400, 64, 24);
  const solver = await LayerSolver.create({ threads: 2 });
  const controller = new AbortController();
  const reason = new Error('stop here');
  setTimeout(() => controller.abort(reason), 50);
  const started = performance.now();
  try {
    await solver.solveAsync(big, { epsilon: 0.1 }, { signal: controller.signal });
    assert.unreachable('an aborted solve resolved');
  } catch (err) {
    assert.is(err, reason, 'the rejection is the signal\'s reason');
  }
  const aborted = performance.now() - started;
  const whole = await solver.solveAsync(big, { epsilon: 0.1 });
  assert.ok(aborted < whole.seconds * 1000, `the abort took ${aborted.toFixed(0)} ms, the whole solve ${(whole.seconds * 1000).toFixed(0)} ms`);
  const fresh = await LayerSolver.create({ threads: 2 });
  assert.equal(Array.from((await solver.solveAsync(small)).weights), Array.from((await fresh.solveAsync(small)).weights));
  try {
    await solver.solveAsync(small, {}, { signal: AbortSignal.abort() });
    assert.unreachable('a solve with an aborted signal started');
  } catch (err) {
    assert.is((err as Error).name, 'AbortError');
  }
  await Promise.all([solver.close(), fresh.close()]);
});

test('onIteration hears a running solve a few times a second, iterations rising, residuals finite', async () => {
  const big = plantedLayer(9, 3000, 300, 120); // a second or more
  const solver = await LayerSolver.create({ threads: 2 });
  const heard: LiveFigures[] = [];
  const r = await solver.solveAsync(big, { epsilon: 0.1 }, { onIteration: (live) => heard.push(live) });
  assert.ok(heard.length >= 1, `no report during a ${r.seconds.toFixed(2)} s solve`);
  for (let k = 1; k < heard.length; k++) assert.ok(heard[k]!.iterations >= heard[k - 1]!.iterations);
  assert.ok(heard.at(-1)!.iterations <= r.iterations);
  for (const h of heard) assert.ok(Number.isFinite(h.primalResidual) && h.primalTolerance > 0 && h.dualTolerance > 0);
  await solver.close();
});

test('threads must be a positive integer', async () => {
  await assert.rejects?.(WasmKernels.create({ threads: 0 }));
  try {
    await WasmKernels.create({ threads: 1.5 });
    assert.unreachable('threads 1.5 was accepted');
  } catch (err) {
    assert.match((err as Error).message, /threads must be an integer >= 1, got 1.5/);
  }
});

test.run();

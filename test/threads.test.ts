// Threads share the products; the answer must not depend on how many there are.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LayerSolver } from '../src/index.ts';
import { WasmKernels } from '../src/wasm/interface.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';

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
});

test('a layer solve gives the same weights with 1 and 2 threads', async () => {
  const rand = seededRandom(9), draw = gaussian(rand);
  const [p, n, m] = [600, 120, 40];
  const inputs = fill(p * n, draw), teacher = fill(n * m, () => (rand() < 0.2 ? draw() : 0));
  const outputs = new Float32Array(p * m);
  for (let q = 0; q < p; q++) {
    for (let j = 0; j < m; j++) {
      let v = 0;
      for (let r = 0; r < n; r++) v += inputs[q * n + r] * teacher[r * m + j];
      outputs[q * m + j] = Math.max(0, v);
    }
  }
  const layer = { inputs, outputs, samples: p, inputSize: n, outputSize: m };
  const results = [];
  for (const threads of [1, 2]) {
    const solver = await LayerSolver.create({ threads });
    assert.is(solver.threads, threads);
    results.push(solver.solve(layer, { epsilon: 0.1 }));
    await solver.close();
  }
  const [a, b] = results;
  assert.is(a.status, 'solved');
  assert.is(b.iterations, a.iterations);
  assert.equal(Array.from(b.weights), Array.from(a.weights));
  assert.is(b.l1, a.l1);
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

// Warm starts across a path of epsilons (the --sparsity searches): a solve started from a
// neighbouring epsilon's weights, multipliers and rho reaches the same program optimum as a cold one,
// in fewer iterations; and the trace says what each check of the returned W found.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LayerSolver, DEFAULT_SETTINGS, type TrimResult } from '../src/index.ts';
import { plantedRelu } from './helpers/random.ts';

// A dense teacher (not recoverable exactly): the optimum moves with epsilon, as on trained layers.
const layer = plantedRelu(11, 200, 40, 16, 0.5);

function stacked(r: TrimResult): Float32Array {
  const w = new Float32Array(r.weights.length + r.bias!.length);
  w.set(r.weights);
  w.set(r.bias!, r.weights.length);
  return w;
}

test('a solve warm-started from the neighbouring epsilon (weights, multipliers, rho) meets the program in fewer iterations', async () => {
  const solver = await LayerSolver.create({ threads: 1 });
  try {
    const near = await solver.solveAsync(layer, { epsilon: 0.1, returnDuals: true });
    assert.is(near.status, 'solved');
    assert.ok(near.duals instanceof Float32Array && near.duals.length > 0, 'duals returned');
    const cold = await solver.solveAsync(layer, { epsilon: 0.15 });
    const warm = await solver.solveAsync({ ...layer, initialWeights: stacked(near), initialDuals: near.duals }, { epsilon: 0.15, rho: near.rho });
    assert.is(cold.status, 'solved');
    assert.is(warm.status, 'solved');
    // the program, met by the returned W
    assert.ok(warm.relativeError <= 0.15 * (1 + DEFAULT_SETTINGS.ballTolerance), `error ${warm.relativeError}`);
    assert.ok(warm.maxInactiveRelative <= DEFAULT_SETTINGS.inactiveTolerance, `inactive ${warm.maxInactiveRelative}`);
    // the same optimum (both within the solver's accuracy of it; the certificate bounds it from below)
    assert.ok(Math.abs(warm.l1 - cold.l1) / cold.l1 < 2e-3, `l1 warm ${warm.l1} cold ${cold.l1}`);
    assert.ok(warm.dualBound <= cold.l1 * (1 + 1e-4) && cold.dualBound <= warm.l1 * (1 + 1e-4), 'bounds below both');
    assert.ok(warm.iterations < cold.iterations, `warm ${warm.iterations} iterations, cold ${cold.iterations}`);
    assert.is(cold.duals, undefined, 'no multipliers unless asked for');
  } finally {
    await solver.close();
  }
});

test('multipliers of another shape are refused with the sizes', async () => {
  const solver = await LayerSolver.create({ threads: 1 });
  try {
    const wrong = new Float32Array(10);
    try {
      await solver.solveAsync({ ...layer, initialDuals: wrong }, { epsilon: 0.1 });
      assert.unreachable('accepted');
    } catch (err) {
      assert.match(String(err), /initialDuals has 10 values/);
    }
  } finally {
    await solver.close();
  }
});

test('the history records each check of the returned W; the last one is within the tolerances', async () => {
  const r = await (await LayerSolver.create({ threads: 1 })).solveAsync(layer, { epsilon: 0.1, recordHistory: true });
  assert.is(r.status, 'solved');
  const checks = r.history!.filter((h) => h.check);
  assert.ok(checks.length >= 1);
  const last = r.history!.at(-1)!.check!;
  assert.ok(last.errorOverEpsilon <= 1 + DEFAULT_SETTINGS.ballTolerance, `error/eps ${last.errorOverEpsilon}`);
  assert.ok(last.inactiveOverMax <= DEFAULT_SETTINGS.inactiveTolerance, `inactive ${last.inactiveOverMax}`);
  // every check before the last missed one of them
  for (const h of checks.slice(0, -1)) {
    assert.ok(h.check!.errorOverEpsilon > 1 + DEFAULT_SETTINGS.ballTolerance || h.check!.inactiveOverMax > DEFAULT_SETTINGS.inactiveTolerance);
  }
});

test.run();

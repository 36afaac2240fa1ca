// Bad input to trimLayer: a clear error that names the problem and its values, before any work.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { trimLayer, DEFAULT_SETTINGS, resolveSettings } from '../src/index.ts';
import { RELAXED_WORK } from '../src/settings.ts';

const good = () => ({
  inputs: new Float32Array(6 * 3).map((_, i) => Math.sin(i)),
  outputs: new Float32Array(6 * 2).map((_, i) => Math.max(0, Math.cos(i))),
  samples: 6, inputSize: 3, outputSize: 2,
});

async function rejects(promise: Promise<unknown>, pattern: RegExp) {
  try {
    await promise;
  } catch (err) {
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`no error; expected ${pattern}`);
}

test('sizes that do not match the arrays', async () => {
  await rejects(trimLayer({ ...good(), inputSize: 4 }), /inputs has 18 entries, expected 24 \(6 samples x 4 inputs\)/);
  await rejects(trimLayer({ ...good(), outputs: new Float32Array(5) }), /outputs has 5 entries, expected 12/);
  await rejects(trimLayer({ ...good(), slack: new Float32Array(3) }), /slack has 3 entries, expected 12/);
  await rejects(trimLayer({ ...good(), initialWeights: new Float32Array(6) }), /initialWeights has 6 entries, expected 8 \(4 rows x 2 outputs\)/);
});

test('no samples, no inputs, fractional sizes', async () => {
  await rejects(trimLayer({ ...good(), samples: 0, inputs: new Float32Array(0), outputs: new Float32Array(0) }), /samples must be a positive integer, got 0/);
  await rejects(trimLayer({ ...good(), inputSize: 0 }), /inputSize must be a positive integer, got 0/);
  await rejects(trimLayer({ ...good(), outputSize: 1.5 }), /outputSize must be a positive integer, got 1.5/);
});

test('NaN and infinities, with their position', async () => {
  const nan = good();
  nan.inputs[7] = NaN;
  await rejects(trimLayer(nan), /inputs has a non-finite value \(NaN\) at index 7/);
  const inf = good();
  inf.outputs[11] = -Infinity;
  await rejects(trimLayer(inf), /outputs has a non-finite value \(-Infinity\) at index 11/);
});

test('not a Float32Array', async () => {
  await rejects(trimLayer({ ...good(), inputs: new Float64Array(18) as unknown as Float32Array }), /inputs must be a Float32Array/);
});

test('settings out of range or unknown', async () => {
  await rejects(trimLayer(good(), { epsilon: -0.1 }), /'epsilon' must be a finite number >= 0, got -0.1/);
  await rejects(trimLayer(good(), { epsilon: NaN }), /'epsilon' must be a finite number >= 0, got NaN/);
  await rejects(trimLayer(good(), { activation: 'tanh' as 'relu' }), /'activation' must be one of relu, linear, got 'tanh'/);
  await rejects(trimLayer(good(), { relaxation: 2 }), /'relaxation' must be 'auto' or in \[1, 2\), got 2/);
  await rejects(trimLayer(good(), { relaxation: 'fast' as 'auto' }), /'relaxation' must be 'auto' or in \[1, 2\), got fast/);
  await rejects(trimLayer(good(), { maxIterations: 0 }), /'maxIterations' must be an integer >= 1, got 0/);
  await rejects(trimLayer(good(), { absTol: 0, relTol: 0 }), /absTol and relTol cannot both be 0/);
  await rejects(trimLayer(good(), { epsilonn: 0.1 } as object), /unknown setting 'epsilonn'/);
});

test('defaults live in one frozen record, and settings overlay it', () => {
  assert.ok(Object.isFrozen(DEFAULT_SETTINGS));
  const s = resolveSettings({ epsilon: 0.2, bias: undefined });
  assert.is(s.epsilon, 0.2);
  assert.is(s.bias, DEFAULT_SETTINGS.bias);
});

test("relaxation 'auto': plain ADMM on a small program, 1.8 from RELAXED_WORK multiply-adds per product, a number as given", async () => {
  assert.is(DEFAULT_SETTINGS.relaxation, 'auto');
  assert.is((await trimLayer(good())).relaxation, 1);
  assert.is((await trimLayer(good(), { relaxation: 1.5 })).relaxation, 1.5);
  // 2,000 samples x (40 + bias) rows x 128 outputs = 1.05e7 >= RELAXED_WORK
  const samples = 2000, inputSize = 40, outputSize = 128;
  assert.ok(samples * (inputSize + 1) * outputSize >= RELAXED_WORK);
  const big = { inputs: new Float32Array(samples * inputSize).map((_, i) => Math.sin(i * 0.37)),
    outputs: new Float32Array(samples * outputSize).map((_, i) => Math.cos(i * 0.11)), samples, inputSize, outputSize };
  assert.is((await trimLayer(big, { maxIterations: 2 })).relaxation, 1.8);
  // linear with P >= N runs the Gram form, whose products have rows x rows x outputs multiply-adds
  assert.is((await trimLayer(big, { maxIterations: 2, activation: 'linear' })).relaxation, 1);
  assert.is((await trimLayer(big, { maxIterations: 2, activation: 'linear', form: 'samples' })).relaxation, 1.8);
});

test('the iteration cap is reported as such, with the residuals', async () => {
  const r = await trimLayer(good(), { maxIterations: 1 });
  assert.is(r.iterations, 1);
  assert.ok(r.status === 'max-iterations' || r.status === 'solved-inaccurate', r.status);
  assert.ok(r.primalResidual > r.primalTolerance || r.dualResidual > r.dualTolerance);
});

test('degenerate but valid layers: one sample, all-zero outputs, all-zero inputs, an infeasible fit', async () => {
  // one sample, one weight: the l1-smallest w with |2 w + b - 4| <= 0.05 * 4 is w = 1.9, b = 0
  let r = await trimLayer({ inputs: new Float32Array([2]), outputs: new Float32Array([4]), samples: 1, inputSize: 1, outputSize: 1 });
  assert.is(r.status, 'solved');
  assert.ok(Math.abs(r.weights[0] - 1.9) < 2e-3, `w ${r.weights[0]}`);
  // nothing active: W = 0 is optimal at once
  const x = new Float32Array(20).map((_, i) => Math.sin(i));
  r = await trimLayer({ inputs: x, outputs: new Float32Array(10), samples: 10, inputSize: 2, outputSize: 1 });
  assert.is(r.status, 'solved');
  assert.is(r.nnz, 0);
  // zero inputs: only the bias can fit, at 1 - 0.05
  r = await trimLayer({ inputs: new Float32Array(20), outputs: new Float32Array(10).fill(1), samples: 10, inputSize: 2, outputSize: 1 });
  assert.is(r.status, 'solved');
  assert.ok(Math.abs(r.bias![0] - 0.95) < 2e-3, `bias ${r.bias![0]}`);
  // zero inputs and no bias cannot fit ones: the solver must not claim success
  r = await trimLayer(
    { inputs: new Float32Array(20), outputs: new Float32Array(10).fill(1), samples: 10, inputSize: 2, outputSize: 1 },
    { activation: 'linear', bias: false, maxIterations: 300 },
  );
  assert.is(r.status, 'max-iterations');
  assert.is(r.relativeError, 1);
});

test.run();

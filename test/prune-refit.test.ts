// The refit (src/prune/refit.ts, on by default): kept weights move to the least squares fit within the
// program's constraints, the support and so the nonzero counts never change, and it is off by default.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { InputError } from '../src/errors.ts';
import { LayerSolver } from '../src/layer/solve.ts';
import { formatReport, pruneModel } from '../src/prune/index.ts';
import { REFIT_TOLERANCE, refitProgram } from '../src/prune/refit.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';
import { plantedRefitLayer } from './helpers/planted-refit.ts';
import { refitProgramF64 } from './reference/refit-f64.ts';

const random = seededRandom(77);
const normal = gaussian(random);

function planted(p: number, n: number, m: number, density: number, activation: 'relu' | 'linear', slack = false) {
  return plantedRefitLayer(random, normal, p, n, m, density, activation, slack);
}

/** W* with every kept entry perturbed: same support, feasible only if the perturbation is small. */
function perturbed(w: Float32Array, scale: number): Float32Array {
  return w.map((v) => (v === 0 ? 0 : v * (1 + scale * normal())));
}

function distance(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let norm = 0;
  for (let k = 0; k < a.length; k++) {
    d += (a[k]! - b[k]!) ** 2;
    norm += b[k]! ** 2;
  }
  return Math.sqrt(d / norm);
}

function joined(r: { weights: Float32Array; bias: Float32Array | null }): Float32Array {
  const out = new Float32Array(r.weights.length + (r.bias?.length ?? 0));
  out.set(r.weights);
  if (r.bias) out.set(r.bias, r.weights.length);
  return out;
}

for (const [activation, slack] of [['relu', false], ['relu', true], ['linear', false]] as const) {
  test(`${activation}${slack ? ' with slack V' : ''}: a perturbed planted layer comes back to the planted weights, support kept`, async () => {
    const { input, w } = planted(400, 30, 8, 0.3, activation, slack);
    const start = perturbed(w, 0.3);
    const r = await refitProgram(input, activation, true, start);
    const found = joined(r);
    for (let k = 0; k < w.length; k++) if (start[k] === 0) assert.is(found[k], 0, `entry ${k} left the support`);
    // The planted weights fit exactly and meet the inactive constraints: they are the constrained optimum.
    assert.ok(distance(found, w) < 1e-2, `${distance(found, w)} from the planted weights (started ${distance(start, w)})`);
    assert.ok(r.relativeErrorBefore > 0.05, `the start should be off (${r.relativeErrorBefore})`);
    assert.ok(r.relativeError < 1e-2, `error ${r.relativeError}`);
    assert.ok(r.meanStep > 0.99, `mean step ${r.meanStep}`);
  });
}

test('relu, from a Net-Trim solution: the error falls, the support and the inactive bound hold', async () => {
  // A dense layer pruned at a loose epsilon: the kept weights cannot fit exactly.
  const { input } = planted(300, 20, 6, 1, 'relu');
  const solver = await LayerSolver.create();
  const trimmed = solver.solve(input, { epsilon: 0.3, activation: 'relu', bias: true });
  assert.ok(trimmed.nnz < 20 * 6, 'Net-Trim kept every weight');
  const start = joined(trimmed);
  const r = await refitProgram(input, 'relu', true, start);
  let ymax = 0;
  for (const v of input.outputs) ymax = Math.max(ymax, v);
  assert.ok(Math.abs(r.relativeErrorBefore - trimmed.relativeError) < 1e-4, `${r.relativeErrorBefore} vs the solver's ${trimmed.relativeError}`);
  assert.ok(r.relativeError < 0.8 * r.relativeErrorBefore, `error ${r.relativeErrorBefore} -> ${r.relativeError}, step ${r.meanStep}`);
  assert.ok(r.maxInactive <= Math.max(trimmed.maxInactive, 0) + REFIT_TOLERANCE * ymax * 1.001, `inactive ${r.maxInactive} (solver ${trimmed.maxInactive})`);
  const found = joined(r);
  for (let k = 0; k < start.length; k++) if (start[k] === 0) assert.is(found[k], 0);
});

for (const [activation, slack] of [['relu', false], ['relu', true], ['linear', false]] as const) {
  test(`${activation}${slack ? ' with slack V' : ''}: the wasm refit agrees with the float64 Cholesky reference`, async () => {
    // Net-Trim's solution of a noisy dense layer: the constrained least squares has a unique
    // optimum that no exact fit reaches, so both paths must land on it.
    const { input } = planted(400, 24, 10, 1, activation, slack);
    for (let k = 0; k < input.outputs.length; k++) if (input.outputs[k] !== 0) input.outputs[k] += 0.2 * normal();
    const solver = await LayerSolver.create({ threads: 1 });
    const trimmed = solver.solve(input, { epsilon: 0.3, activation, bias: true });
    await solver.close();
    const start = joined(trimmed);
    const reference = refitProgramF64(input, activation, true, start);
    const r = await refitProgram(input, activation, true, start);
    assert.ok(reference.relativeError < 0.95 * reference.relativeErrorBefore, `the case should move the weights (${reference.relativeErrorBefore} -> ${reference.relativeError})`);
    assert.ok(Math.abs(r.relativeErrorBefore - reference.relativeErrorBefore) < 1e-9, 'same start, same figure');
    // both stop their ADMM at the same tolerance: neither is exact, neither may be worse by more than a trace
    assert.ok(r.relativeError < reference.relativeError * (1 + 2e-3), `error ${r.relativeError} vs float64 ${reference.relativeError}`);
    assert.ok(r.relativeError > reference.relativeError * (1 - 1e-2), `error ${r.relativeError} below the float64 optimum ${reference.relativeError}?`);
    assert.ok(Math.abs(r.meanStep - reference.meanStep) < 0.02, `mean step ${r.meanStep} vs float64 ${reference.meanStep}`);
    const d = distance(joined(r), joined(reference));
    assert.ok(d < 1e-2, `weights ${d} apart (relative)`);
    let ymax = 0;
    for (const v of input.outputs) ymax = Math.max(ymax, Math.abs(v));
    assert.ok(r.maxInactive <= Math.max(trimmed.maxInactive, 0) + REFIT_TOLERANCE * ymax * 1.001, `inactive ${r.maxInactive}`);
  });
}

/** x(16) -> Gemm 16x12 + Relu -> Gemm 12x4 (logits). */
function mlp(): Uint8Array {
  return new GraphBuilder('mlp')
    .input('x', ['N', 16])
    .initializer('W1', [16, 12], Array.from({ length: 192 }, () => 0.4 * normal())).initializer('b1', [12], Array.from({ length: 12 }, () => 0.1 * normal()))
    .node('Gemm', ['x', 'W1', 'b1'], ['h1'], {}, 'fc1').node('Relu', ['h1'], ['a1'], {}, 'relu1')
    .initializer('W2', [12, 4], Array.from({ length: 48 }, () => 0.4 * normal())).initializer('b2', [4], [0, 0, 0, 0])
    .node('Gemm', ['a1', 'W2', 'b2'], ['logits'], {}, 'fc2')
    .output('logits', ['N', 4])
    .toBytes();
}

for (const scheme of ['parallel', 'cascade'] as const) {
  test(`pruneModel ${scheme}: refit keeps every layer's nonzero count, lowers its error, and is on by default`, async () => {
    const bytes = mlp();
    const calib = { data: fill(300 * 16, normal), shape: [300, 16] };
    const plain = await pruneModel(bytes, calib, { scheme, epsilon: 0.15, refit: false });
    const refit = await pruneModel(bytes, calib, { scheme, epsilon: 0.15 });
    assert.is(plain.report.refit, false);
    assert.ok(plain.report.layers.every((l) => l.refit === null));
    assert.is(refit.report.refit, true);
    assert.match(formatReport(refit.report), /refit \(least squares on the kept weights, not Net-Trim's program; --no-refit leaves it out\): error fc1 0\.\d+ -> 0\.\d+/);
    assert.not.match(formatReport(plain.report), /refit/);
    refit.report.layers.forEach((l, i) => {
      const before = plain.report.layers[i]!;
      // The first layer's program is the same in both runs; later cascade layers see refit inputs.
      if (scheme === 'parallel' || i === 0) assert.is(l.nnzAfter, before.nnzAfter, `${l.name}: nonzero count changed`);
      assert.ok(l.refit !== null, `${l.name}: no refit record`);
      assert.ok(l.relativeError < l.refit!.relativeErrorBefore, `${l.name}: ${l.refit!.relativeErrorBefore} -> ${l.relativeError}`);
      assert.ok(l.relativeError <= l.epsilon * 1.02 + 1e-6, `${l.name}: outside the ball`);
    });
  });
}

test('refit must be a boolean', async () => {
  try {
    await pruneModel(mlp(), { data: fill(50 * 16, normal), shape: [50, 16] }, { refit: 'yes' as unknown as boolean });
  } catch (err) {
    assert.instance(err, InputError);
    assert.match((err as Error).message, /refit must be true or false, got yes/);
    return;
  }
  assert.unreachable('no error');
});

test('refitBounds must be soft or hard', async () => {
  try {
    await pruneModel(mlp(), { data: fill(50 * 16, normal), shape: [50, 16] }, { refitBounds: 'loose' as unknown as 'soft' });
  } catch (err) {
    assert.instance(err, InputError);
    assert.match((err as Error).message, /refitBounds must be soft or hard, got 'loose'/);
    return;
  }
  assert.unreachable('no error');
});

test.run();

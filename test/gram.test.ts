// The Gram form of linear programs (assembly/gram.ts, settings.form): the same iterates as the
// sample form in exact arithmetic, so the same status, result and certificate to solver tolerance;
// and, against the independent float64 solver (test/reference/pdhg.ts), a feasible W near the optimum.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LayerSolver, type LayerInput, type TrimResult, type TrimSettings } from '../src/index.ts';
import { solveReference } from './reference/pdhg.ts';
import { gaussian, seededRandom } from './helpers/random.ts';

interface Case { seed: number; n: number; m: number; p: number; epsilon: number; settings?: Partial<TrimSettings> }

/** Gaussian inputs with a constant and a repeated column (G singular), a 40%-dense teacher with bias, noise. */
function randomLinear(c: Case): LayerInput {
  const normal = gaussian(seededRandom(c.seed)), uniform = seededRandom(c.seed ^ 0x5bd1e995);
  const inputs = Float32Array.from({ length: c.p * c.n }, normal);
  for (let s = 0; s < c.p; s++) {
    inputs[s * c.n] = 0; // an input that is always 0 (a dead pixel)
    inputs[s * c.n + 2] = inputs[s * c.n + 1]; // and one that repeats another
  }
  const w0 = Float64Array.from({ length: c.n * c.m }, () => (uniform() < 0.4 ? normal() : 0));
  const outputs = new Float32Array(c.p * c.m);
  for (let s = 0; s < c.p; s++) {
    for (let k = 0; k < c.m; k++) {
      let z = 0.3 * Math.sin(k + 1);
      for (let j = 0; j < c.n; j++) z += inputs[s * c.n + j] * w0[j * c.m + k];
      outputs[s * c.m + k] = z + 0.01 * normal();
    }
  }
  return { inputs, outputs, samples: c.p, inputSize: c.n, outputSize: c.m };
}

const CASES: Case[] = [
  { seed: 41, n: 32, m: 5, p: 250, epsilon: 0.05 },
  { seed: 42, n: 28, m: 7, p: 180, epsilon: 0.2 },
  { seed: 43, n: 60, m: 12, p: 400, epsilon: 0.1, settings: { penalizeBias: false } },
  { seed: 44, n: 40, m: 9, p: 48, epsilon: 0.01, settings: { relaxation: 1.6 } },
  { seed: 45, n: 36, m: 6, p: 300, epsilon: 0.1, settings: { penalty: 'group' } },
];

const test = suite('Gram form');
let solver: LayerSolver;
test.before(async () => { solver = await LayerSolver.create({ threads: 1 }); });
test.after(() => solver.close());

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let d = 0, scale = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); scale = Math.max(scale, Math.abs(b[i])); }
  return d / Math.max(scale, 1e-30);
}

function assertSame(gram: TrimResult, samples: TrimResult, context: string) {
  assert.is(gram.form, 'gram', context);
  assert.is(samples.form, 'samples', context);
  assert.is(gram.status, samples.status, context);
  assert.ok(Math.abs(gram.iterations - samples.iterations) <= 2, `iterations ${gram.iterations} vs ${samples.iterations}: ${context}`);
  assert.ok(Math.abs(gram.l1 - samples.l1) <= 1e-4 * samples.l1, `l1 ${gram.l1} vs ${samples.l1}: ${context}`);
  assert.ok(Math.abs(gram.relativeError - samples.relativeError) <= 1e-4 * samples.relativeEpsilon, `error ${gram.relativeError} vs ${samples.relativeError}: ${context}`);
  assert.ok(Math.abs(gram.dualBound - samples.dualBound) <= 1e-3 * samples.dualBound, `bound ${gram.dualBound} vs ${samples.dualBound}: ${context}`);
  assert.ok(maxAbsDiff(gram.weights, samples.weights) <= 1e-3, `weights differ by ${maxAbsDiff(gram.weights, samples.weights)} of their largest: ${context}`);
  // residuals: the same to a few % (rounding, and the inexact CG steps, move them a little). The
  // dual residual gets 10%: near the end it is as small as the rounding noise of the sample form's
  // float32 P x M state, which only raises it. 40x9 relaxation 1.6, 180 iterations, over 1-ulp
  // changes of one Y entry: sample form 1.535e-4..1.591e-4, Gram form with float64 state
  // 1.457e-4..1.461e-4 (with float32 images, before: 1.491e-4..1.525e-4).
  for (const [k, tol] of [['primalResidual', 0.05], ['dualResidual', 0.1]] as const) {
    assert.ok(Math.abs(gram[k] - samples[k]) <= tol * samples[k] + 1e-9, `${k} ${gram[k]} vs ${samples[k]}: ${context}`);
  }
}

for (const c of CASES) {
  const name = `${c.n}x${c.m}, P=${c.p}, eps ${c.epsilon}${c.settings ? ' ' + JSON.stringify(c.settings) : ''}`;
  test(`${name}: the Gram form returns the sample form's answer`, () => {
    const input = randomLinear(c);
    const settings = { epsilon: c.epsilon, activation: 'linear' as const, ...c.settings };
    const gram = solver.solve(input, { ...settings, form: 'gram' });
    const samples = solver.solve(input, { ...settings, form: 'samples' });
    assertSame(gram, samples, name);
    assert.is(gram.status, 'solved', name);
  });
}

for (const c of CASES.slice(0, 3)) {
  test(`${c.n}x${c.m}, P=${c.p}, eps ${c.epsilon}: feasible, near the independent solver's optimum, bound below it`, () => {
    const input = randomLinear(c);
    const penalizeBias = c.settings?.penalizeBias ?? true;
    const ref = solveReference(input, { epsilon: c.epsilon, epsilonMode: 'relative', activation: 'linear', bias: true, tolerance: 1e-6, timeLimitSeconds: 120 });
    assert.ok(ref.converged, `reference did not converge (gap ${ref.gap})`);
    const gram = solver.solve(input, { epsilon: c.epsilon, activation: 'linear', form: 'gram', penalizeBias });
    const context = `l1 ${gram.l1} vs optimum ${ref.l1}, bound ${gram.dualBound}, error ${gram.relativeError} (eps ${c.epsilon}), ${gram.status}`;
    assert.is(gram.status, 'solved', context);
    assert.ok(gram.relativeError <= c.epsilon * (1 + 1e-3), context);
    if (penalizeBias) {
      assert.ok(gram.l1 >= ref.l1 * (1 - 1e-3) && gram.l1 <= ref.l1 * 1.01, context);
      assert.ok(gram.dualBound <= ref.l1 * (1 + 1e-5), context);
      assert.ok(gram.gap <= 0.01, context);
    }
  });
}

test('a warm start: the Gram form continues from it as the sample form does', () => {
  const c = CASES[0], input = randomLinear(c);
  const first = solver.solve(input, { epsilon: 0.1, activation: 'linear' });
  const warm = { ...input, initialWeights: new Float32Array([...first.weights, ...first.bias!]) };
  const settings = { epsilon: c.epsilon, activation: 'linear' as const };
  assertSame(solver.solve(warm, { ...settings, form: 'gram' }), solver.solve(warm, { ...settings, form: 'samples' }), 'warm start');
});

test("'auto' picks the Gram form for linear programs with P >= N, the sample form otherwise", () => {
  const tall = randomLinear({ seed: 46, n: 20, m: 4, p: 64, epsilon: 0.1 });
  const wide = randomLinear({ seed: 47, n: 64, m: 4, p: 40, epsilon: 0.1 });
  assert.is(solver.solve(tall, { activation: 'linear' }).form, 'gram');
  assert.is(solver.solve(wide, { activation: 'linear' }).form, 'samples');
  // ReLU programs have inactive entries: always the sample form, whatever is asked
  assert.is(solver.solve(tall, { activation: 'relu', form: 'gram' }).form, 'samples');
  assert.is(solver.solve(tall, { activation: 'linear', form: 'samples' }).form, 'samples');
});

test.run();

// The certificate (TrimResult.dualBound, gap; method.md section 8): a lower bound on the optimal l1
// from the ADMM's dual. Checked against the optimum certified by the independent float64 solver
// (test/reference/pdhg.ts): the bound must never exceed it, and must be tight (gap <= 1%) when solved.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { trimLayer, type Activation, type LayerInput } from '../src/index.ts';
import { solveReference } from './reference/pdhg.ts';
import { gaussian, seededRandom } from './helpers/random.ts';
import { plantClip } from './helpers/clip.ts';

/** Float32 rounding of the bound's products, relative: far below any gap worth reporting. */
const ROUNDING = 1e-5;
const GAP_WHEN_SOLVED = 0.01;

interface Case { seed: number; n: number; m: number; p: number; activation: Activation; epsilon: number }

/** Small random programs as in issue 11: Gaussian inputs, a 40%-dense teacher with bias, small noise. */
function randomProgram(c: Case): LayerInput {
  const normal = gaussian(seededRandom(c.seed)), uniform = seededRandom(c.seed ^ 0x2545f491);
  const inputs = Float32Array.from({ length: c.p * c.n }, normal);
  const w0 = Float64Array.from({ length: c.n * c.m }, () => (uniform() < 0.4 ? normal() : 0));
  const outputs = new Float32Array(c.p * c.m);
  for (let s = 0; s < c.p; s++) {
    for (let k = 0; k < c.m; k++) {
      let z = 0.3 * Math.sin(k + 1);
      for (let j = 0; j < c.n; j++) z += inputs[s * c.n + j] * w0[j * c.m + k];
      outputs[s * c.m + k] = c.activation === 'linear' ? z + 0.01 * normal() : z > 0 ? z + 0.01 * Math.abs(normal()) : 0;
    }
  }
  return { inputs, outputs, samples: c.p, inputSize: c.n, outputSize: c.m };
}

const CASES: Case[] = [
  { seed: 31, n: 25, m: 4, p: 150, activation: 'relu', epsilon: 0.05 },
  { seed: 32, n: 40, m: 8, p: 300, activation: 'relu', epsilon: 0.1 },
  { seed: 33, n: 30, m: 6, p: 200, activation: 'relu', epsilon: 0.2 },
  { seed: 34, n: 32, m: 5, p: 250, activation: 'linear', epsilon: 0.05 },
  { seed: 35, n: 28, m: 7, p: 180, activation: 'linear', epsilon: 0.2 },
];

const test = suite('dual certificate');

for (const c of CASES) {
  test(`${c.activation} ${c.n}x${c.m}, P=${c.p}, eps ${c.epsilon}: bound <= optimum, gap <= 1% when solved`, async () => {
    const input = randomProgram(c);
    const settings = { epsilon: c.epsilon, activation: c.activation };
    const ref = solveReference(input, { ...settings, epsilonMode: 'relative', bias: true, tolerance: 1e-6, timeLimitSeconds: 120 });
    assert.ok(ref.converged, `reference did not converge (gap ${ref.gap})`);
    const trim = await trimLayer(input, settings); // default settings: what users get
    const context = `bound ${trim.dualBound}, trim l1 ${trim.l1} (${trim.status}, ${trim.iterations} it), optimum ${ref.l1}, gap ${trim.gap}`;
    assert.ok(trim.dualBound > 0, `a trivial bound: ${context}`);
    assert.ok(trim.dualBound <= ref.l1 * (1 + ROUNDING), `the bound exceeds the optimum: ${context}`);
    assert.ok(Math.abs(trim.gap - (trim.l1 - trim.dualBound) / trim.l1) < 1e-12, `gap is not (l1 - bound) / l1: ${context}`);
    assert.is(trim.status, 'solved', context);
    assert.ok(trim.gap <= GAP_WHEN_SOLVED, `gap above 1%: ${context}`);
  });
}

test('regions (lower bounds) and an unpenalised bias: the bound stays below the optimum', async () => {
  const input = plantClip(21, 200, 16, 5); // a Clip(0, c) layer: upper, lower bounds and the ball
  const settings = { epsilon: 0.05, epsilonMode: 'relative' as const, activation: 'relu' as const, bias: true };
  const ref = solveReference(input, { ...settings, tolerance: 1e-6, timeLimitSeconds: 120 });
  assert.ok(ref.converged, `reference did not converge (gap ${ref.gap})`);
  const trim = await trimLayer(input, { epsilon: 0.05 });
  assert.ok(trim.dualBound > 0 && trim.dualBound <= ref.l1 * (1 + ROUNDING), `bound ${trim.dualBound} vs optimum ${ref.l1}`);
  assert.ok(trim.gap <= GAP_WHEN_SOLVED, `gap ${trim.gap}`);
  // without the bias in the objective, the optimum is at most the weights' l1 of any feasible W
  const free = await trimLayer(input, { epsilon: 0.05, penalizeBias: false });
  let weightsL1 = 0;
  for (const w of ref.weights.subarray(0, input.inputSize * input.outputSize)) weightsL1 += Math.abs(w);
  assert.ok(free.dualBound > 0 && free.dualBound <= weightsL1 * (1 + ROUNDING), `bound ${free.dualBound} vs ${weightsL1}`);
});

test.run();

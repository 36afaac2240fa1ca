// The refit with soft bounds (src/prune/refit.ts, PruneSettings.refitBounds 'soft'): the kept weights
// minimise 1/2 ||(z - y)_Omega||^2 + 1/2 sum over the clipped outputs of max(0, sign (z - V))^2.
// Checked against what does not depend on our ADMM: the planted weights fit exactly (the objective's
// zero), a float64 minimiser by the finite Newton method (its gradient on every kept weight
// vanishes), and the hard-bounded refit's answer, a point of the same objective that must not beat it.
// Both solvers of the soft objective: nonlinear CG (the default) and the ADMM.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LayerSolver } from '../src/layer/solve.ts';
import { refitProgram } from '../src/prune/refit.ts';
import type { LayerInput } from '../src/types.ts';
import { gaussian, seededRandom } from './helpers/random.ts';
import { plantedRefitLayer } from './helpers/planted-refit.ts';

const random = seededRandom(123);
const normal = gaussian(random);

/** A planted ReLU layer (helpers/planted-refit.ts); `slack`: V = z + |noise| where inactive. */
function planted(p: number, n: number, m: number, density: number, slack: boolean) {
  return plantedRefitLayer(random, normal, p, n, m, density, 'relu', slack);
}

/**
 * The soft objective's minimiser on the support of `start`, neuron by neuron in float64, by the
 * finite Newton method for piecewise quadratics: fit the active outputs and the clipped ones now past
 * V (least squares, normal equations by Gaussian elimination), until that set stops changing.
 */
function softOptimum(input: LayerInput, start: Float32Array): Float32Array {
  const { samples: p, inputSize: n, outputSize: m } = input;
  const x = (s: number, i: number) => (i === n ? 1 : input.inputs[s * n + i]!);
  const v = (s: number, j: number) => (input.slack ? input.slack[s * m + j]! : 0);
  const out = start.slice();
  for (let j = 0; j < m; j++) {
    const support = Array.from({ length: n + 1 }, (_, i) => i).filter((i) => start[i * m + j] !== 0);
    const k = support.length;
    let w = support.map((i) => start[i * m + j]!);
    const z = (s: number) => support.reduce((a, i, r) => a + x(s, i) * w[r]!, 0);
    for (let round = 0, changed = true; changed && round < 100; round++) {
      const fitted = Array.from({ length: p }, (_, s) => input.outputs[s * m + j]! > 0 || z(s) > v(s, j));
      const a = Array.from({ length: k }, () => new Float64Array(k + 1));
      for (let s = 0; s < p; s++) {
        if (!fitted[s]) continue;
        const target = input.outputs[s * m + j]! > 0 ? input.outputs[s * m + j]! : v(s, j);
        for (let r = 0; r < k; r++) {
          for (let c = 0; c < k; c++) a[r]![c]! += x(s, support[r]!) * x(s, support[c]!);
          a[r]![k]! += x(s, support[r]!) * target;
        }
      }
      w = gaussianElimination(a);
      changed = fitted.some((f, s) => f !== (input.outputs[s * m + j]! > 0 || z(s) > v(s, j)));
    }
    support.forEach((i, r) => { out[i * m + j] = w[r]!; });
  }
  return out;
}

/** Solves the k x (k + 1) augmented system in place (partial pivoting). */
function gaussianElimination(a: Float64Array[]): number[] {
  const k = a.length;
  for (let c = 0; c < k; c++) {
    let pivot = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[pivot]![c]!)) pivot = r;
    [a[c], a[pivot]] = [a[pivot]!, a[c]!];
    for (let r = c + 1; r < k; r++) {
      const f = a[r]![c]! / a[c]![c]!;
      for (let q = c; q <= k; q++) a[r]![q]! -= f * a[c]![q]!;
    }
  }
  const w = new Array<number>(k).fill(0);
  for (let r = k - 1; r >= 0; r--) {
    let sum = a[r]![k]!;
    for (let q = r + 1; q < k; q++) sum -= a[r]![q]! * w[q]!;
    w[r] = sum / a[r]![r]!;
  }
  return w;
}

function joined(r: { weights: Float32Array; bias: Float32Array | null }): Float32Array {
  const out = new Float32Array(r.weights.length + (r.bias?.length ?? 0));
  out.set(r.weights);
  if (r.bias) out.set(r.bias, r.weights.length);
  return out;
}

/**
 * Per neuron: the soft objective of weights `w` ((N + 1) x M), and the largest |gradient| along a kept
 * weight as a cosine |x_i . r| / (||x_i|| ||r||), r the residual (z - y on active outputs, the excess past V on the others).
 */
function softFigures(input: LayerInput, w: Float32Array): { objective: number; worstCosine: number } {
  const { samples: p, inputSize: n, outputSize: m } = input;
  const x = (s: number, i: number) => (i === n ? 1 : input.inputs[s * n + i]!);
  let objective = 0;
  let worstCosine = 0;
  for (let j = 0; j < m; j++) {
    const r = new Float64Array(p);
    for (let s = 0; s < p; s++) {
      let z = 0;
      for (let i = 0; i <= n; i++) z += x(s, i) * w[i * m + j]!;
      const y = input.outputs[s * m + j]!;
      r[s] = y > 0 ? z - y : Math.max(0, z - (input.slack ? input.slack[s * m + j]! : 0));
    }
    const r2 = r.reduce((a, v) => a + v * v, 0);
    objective += r2 / 2;
    for (let i = 0; i <= n; i++) {
      if (w[i * m + j] === 0) continue;
      let g = 0;
      let x2 = 0;
      for (let s = 0; s < p; s++) {
        g += x(s, i) * r[s]!;
        x2 += x(s, i) ** 2;
      }
      if (x2 > 0 && r2 > 0) worstCosine = Math.max(worstCosine, Math.abs(g) / Math.sqrt(x2 * r2));
    }
  }
  return { objective, worstCosine };
}

for (const [slack, method] of [[false, 'ncg'], [true, 'ncg'], [false, 'admm'], [true, 'admm']] as const) {
  const label = `${slack ? ' with slack V' : ''}, ${method}`;
  test(`soft${label}: a perturbed planted layer comes back to the planted weights, support kept`, async () => {
    const { input, w } = planted(400, 30, 8, 0.3, slack);
    const start = w.map((v) => (v === 0 ? 0 : v * (1 + 0.3 * normal())));
    const r = await refitProgram(input, 'relu', true, start, undefined, undefined, 'soft', undefined, { method });
    const found = joined(r);
    for (let k = 0; k < w.length; k++) if (start[k] === 0) assert.is(found[k], 0, `entry ${k} left the support`);
    let d = 0;
    let norm = 0;
    for (let k = 0; k < w.length; k++) {
      d += (found[k]! - w[k]!) ** 2;
      norm += w[k]! ** 2;
    }
    assert.ok(Math.sqrt(d / norm) < 1e-2, `${Math.sqrt(d / norm)} from the planted weights`);
    assert.ok(r.relativeError < 1e-2, `error ${r.relativeError}`);
  });

  test(`soft${label}: from a Net-Trim solution, the optimality condition holds and no hard-bounded refit does better`, async () => {
    // a noisy dense layer pruned at a loose epsilon: no kept support fits it exactly
    const { input } = planted(400, 24, 10, 1, slack);
    for (let k = 0; k < input.outputs.length; k++) if (input.outputs[k] !== 0) input.outputs[k] += 0.2 * normal();
    const solver = await LayerSolver.create({ threads: 1 });
    const trimmed = solver.solve(input, { epsilon: 0.3, activation: 'relu', bias: true });
    await solver.close();
    const start = joined(trimmed);
    const soft = joined(await refitProgram(input, 'relu', true, start, undefined, undefined, 'soft', undefined, { method }));
    const hard = joined(await refitProgram(input, 'relu', true, start, undefined, undefined, 'hard'));
    for (let k = 0; k < start.length; k++) if (start[k] === 0) assert.is(soft[k], 0, `entry ${k} left the support`);
    const [s0, sSoft, sHard, sBest] = [start, soft, hard, softOptimum(input, start)].map((w) => softFigures(input, w));
    assert.ok(sSoft!.objective < 0.8 * s0!.objective, `objective ${s0!.objective} -> ${sSoft!.objective}`);
    // the hard answer is a point of the same objective: the soft refit must do at least as well
    assert.ok(sSoft!.objective <= sHard!.objective * (1 + 1e-3), `soft ${sSoft!.objective} vs hard ${sHard!.objective}`);
    // the ADMM stops at a tolerance: near the float64 optimum, not at it
    assert.ok(sBest!.worstCosine < 1e-5, `the reference (stored as float32) is not optimal (${sBest!.worstCosine})`);
    assert.ok(sSoft!.objective <= sBest!.objective * (1 + 2e-3), `soft ${sSoft!.objective} vs the optimum ${sBest!.objective}`);
    assert.ok(sSoft!.worstCosine < 0.05, `gradient cosine ${sSoft!.worstCosine} on a kept weight`);
  });
}

test('soft, ncg: any iteration budget lowers the objective, and a larger one never raises it', async () => {
  const { input } = planted(400, 24, 10, 1, true);
  for (let k = 0; k < input.outputs.length; k++) if (input.outputs[k] !== 0) input.outputs[k] += 0.2 * normal();
  const solver = await LayerSolver.create({ threads: 1 });
  const start = joined(solver.solve(input, { epsilon: 0.3, activation: 'relu', bias: true }));
  await solver.close();
  const before = softFigures(input, start).objective;
  let last = before;
  for (const maxIterations of [1, 2, 5, 20, 100]) {
    const r = await refitProgram(input, 'relu', true, start, undefined, undefined, 'soft', undefined, { method: 'ncg', maxIterations, stall: 0 });
    assert.ok(r.iterations <= maxIterations, `${r.iterations} iterations for a budget of ${maxIterations}`);
    const now = softFigures(input, joined(r)).objective;
    // float32 iterates, float64 figures: equal within rounding when the longer run stopped early
    assert.ok(now <= last * (1 + 1e-6), `budget ${maxIterations}: objective ${last} -> ${now}`);
    assert.ok(now < before, `budget ${maxIterations}: ${now} not below the start's ${before}`);
    last = now;
  }
  assert.ok(last < 0.8 * before, `objective ${before} -> ${last}`);
});

test.run();

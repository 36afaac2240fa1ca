// Per-entry constraint regions (LayerInput.regions) and the penalizeBias setting, checked against the
// independent float64 reference (test/reference/pdhg.ts) on a planted Clip(0, c) layer: z <= 0 where
// the trained layer clipped at 0, z >= c where it clipped at c, the epsilon ball in between.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveSettings, trimLayer, type LayerInput, type TrimResult } from '../src/index.ts';
import { measureWeights, solveReference } from './reference/pdhg.ts';
import { plantClip } from './helpers/clip.ts';

const BALL_SLACK = 1e-3;
const BOUND_TOLERANCE = 1e-3;
const L1_TOLERANCE = 1e-3;
const TIGHT = { relTol: 1e-5, maxIterations: 20_000 };

function stacked(result: TrimResult): Float64Array {
  const out = new Float64Array(result.weights.length + (result.bias?.length ?? 0));
  out.set(result.weights);
  if (result.bias) out.set(result.bias, result.weights.length);
  return out;
}

function sumAbs(a: ArrayLike<number>): number {
  let s = 0;
  for (let e = 0; e < a.length; e++) s += Math.abs(a[e]);
  return s;
}

const test = suite('per-entry constraint regions');

for (const epsilon of [0.05, 0.2]) {
  test(`Clip(0, c) layer, eps ${epsilon}: feasible in all three regions and at the reference's optimum`, async () => {
    const input = plantClip(21, 200, 16, 5);
    const counts = [0, 0, 0];
    for (const r of input.regions!) counts[r]++;
    assert.ok(counts.every((c) => c > 50), `the plant must use every region: ${counts}`);
    const settings = { epsilon, epsilonMode: 'relative' as const, activation: 'relu' as const, bias: true };
    // this program is degenerate (many bounds tight at the optimum): the reference needs ~5 s to a 1e-7 gap
    const ref = solveReference(input, { ...settings, tolerance: 1e-7, timeLimitSeconds: 30 });
    assert.ok(ref.converged, `reference did not converge: gap ${ref.gap}, ball ${ref.ballRatio}, bound ${ref.maxInactiveRelative}`);
    const trim = await trimLayer(input, { ...settings, ...TIGHT });
    const context = `\n  trim: l1 ${trim.l1}, err ${trim.relativeError}, bound ${trim.maxInactiveRelative}, ${trim.status}, ${trim.iterations} it` +
      `\n  reference: l1 ${ref.l1}, gap ${ref.gap}`;
    assert.is(trim.status, 'solved', context);
    assert.ok(Math.abs(trim.l1 - ref.l1) / ref.l1 <= L1_TOLERANCE, `l1 differs${context}`);
    const measured = measureWeights(input, settings, stacked(trim));
    assert.ok(measured.ballRatio <= 1 + BALL_SLACK, `outside the ball in float64: ${measured.ballRatio}${context}`);
    assert.ok(measured.maxInactiveRelative <= BOUND_TOLERANCE, `a bound is violated in float64: ${measured.maxInactiveRelative}${context}`);
    assert.ok(Math.abs(measured.maxInactiveRelative - trim.maxInactiveRelative) <= 1e-5, `reported bound violation disagrees${context}`);
  });
}

test('lower bounds matter: without them the solution breaks them', async () => {
  const input = plantClip(22, 200, 16, 5);
  const upperOnly = { ...input, regions: input.regions!.map((r) => (r === 2 ? 0 : r)) };
  const loose = await trimLayer(upperOnly, { epsilon: 0.2, ...TIGHT });
  const measured = measureWeights(input, { epsilon: 0.2, epsilonMode: 'relative', activation: 'relu', bias: true }, stacked(loose));
  assert.ok(measured.maxInactiveRelative > 10 * BOUND_TOLERANCE, `expected violated lower bounds, got ${measured.maxInactiveRelative}`);
});

test('regions that restate ReLU give the same weights as the activation', async () => {
  const input = plantClip(23, 160, 12, 4);
  const relu = { ...input, regions: undefined, slack: undefined };
  const restated = { ...relu, regions: Uint8Array.from(input.outputs, (y) => (y > 0 ? 0 : 1)) };
  const a = await trimLayer(relu, { epsilon: 0.1 }), b = await trimLayer(restated, { epsilon: 0.1 });
  assert.equal(Array.from(a.weights), Array.from(b.weights));
  assert.is(a.iterations, b.iterations);
});

test('regions are validated', async () => {
  const input = plantClip(24, 40, 8, 3);
  const expectError = async (bad: LayerInput, pattern: RegExp) => {
    try {
      await trimLayer(bad);
      assert.unreachable('should have thrown');
    } catch (err) {
      assert.match((err as Error).message, pattern);
    }
  };
  await expectError({ ...input, regions: input.regions!.subarray(1) }, /regions has 119 entries, expected 120/);
  await expectError({ ...input, regions: input.regions!.map((r, i) => (i === 7 ? 3 : r)) }, /regions has value 3 at index 7/);
  const lowerAt = input.regions!.indexOf(2);
  await expectError({ ...input, slack: undefined }, new RegExp(`lower bound \\(2\\) at index ${lowerAt} but no slack`));
});

test('penalizeBias: false leaves the bias out of the l1', async () => {
  const input = plantClip(25, 200, 16, 5);
  const settings = { epsilon: 0.1, ...TIGHT };
  const penalised = await trimLayer(input, settings);
  const free = await trimLayer(input, { ...settings, penalizeBias: false });
  assert.is(free.status, 'solved');
  const measured = measureWeights(input, { epsilon: 0.1, epsilonMode: 'relative', activation: 'relu', bias: true }, stacked(free));
  assert.ok(measured.ballRatio <= 1 + BALL_SLACK && measured.maxInactiveRelative <= BOUND_TOLERANCE, 'unpenalised solution infeasible');
  // the penalised optimum is feasible for the unpenalised program, whose objective leaves the bias out
  const weightsL1 = (r: TrimResult) => sumAbs(r.weights);
  assert.ok(weightsL1(free) <= weightsL1(penalised) * (1 + 1e-3), `weights l1 ${weightsL1(free)} > ${weightsL1(penalised)}`);
  assert.ok(sumAbs(free.bias!) > sumAbs(penalised.bias!), 'an unpenalised bias should grow');
  assert.throws(() => resolveSettings({ penalizeBias: 1 as unknown as boolean }), /'penalizeBias' must be true or false, got 1/);
});

test.run();

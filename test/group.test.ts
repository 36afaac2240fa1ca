// The group (row) program, penalty 'group' (method.md section 7): minimize sum_g w_g ||W_g||_2.
// Checked as the element-wise program is: planted recovery of a row-sparse layer (theory says what
// must come back), feasibility, the optimum against the independent float64 PDHG reference
// (test/reference/pdhg.ts, with its own block prox and dual certificate), SIMD against scalar builds.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LayerSolver, trimLayer, type LayerInput, type TrimResult } from '../src/index.ts';
import { measureWeights, solveReference, type ReferenceOptions } from './reference/pdhg.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';

interface Planted { input: LayerInput; w: Float32Array; used: Set<number> }

/**
 * Gaussian inputs and a teacher that reads only `k` of the n input groups (`size` rows each), every
 * output using all of them (values away from zero): a layer whose other inputs can all go.
 */
function plantedRows(n: number, m: number, k: number, p: number, relu: boolean, seed: number, size = 1): Planted {
  const rand = seededRandom(seed), draw = gaussian(rand);
  const x = fill(p * n, draw);
  const w = new Float32Array(n * m);
  const used = new Set<number>();
  while (used.size < k) used.add(Math.floor(rand() * (n / size)));
  for (const g of used) {
    for (let r = g * size; r < (g + 1) * size; r++) {
      for (let j = 0; j < m; j++) w[r * m + j] = (rand() < 0.5 ? -1 : 1) * (0.5 + rand());
    }
  }
  const y = new Float32Array(p * m);
  for (let q = 0; q < p; q++) {
    for (let j = 0; j < m; j++) {
      let v = 0;
      for (let r = 0; r < n; r++) v += x[q * n + r] * w[r * m + j];
      y[q * m + j] = relu ? Math.max(0, v) : v;
    }
  }
  const rowGroups = Int32Array.from({ length: n }, (_, r) => Math.floor(r / size));
  return { input: { inputs: x, outputs: y, samples: p, inputSize: n, outputSize: m, ...(size > 1 ? { rowGroups } : {}) }, w, used };
}

/** method.md 1: one neuron with s nonzeros comes back from (11 s + 7) log N samples by the l1 program. */
function samplesNeeded(s: number, n: number): number {
  return Math.ceil((11 * s + 7) * Math.log(n));
}

/** Every entry within 1e-3 of the largest planted weight; with `exact`, the others exactly zero. */
function assertRecovered(got: Float32Array, want: Float32Array, m: number, exact = true) {
  for (let i = 0; i < want.length; i++) {
    const where = `row ${Math.floor(i / m)}, neuron ${i % m}`;
    assert.ok(Math.abs(got[i] - want[i]) <= 1e-3 * largest(want), `${where}: planted ${want[i]}, got ${got[i]}`);
    if (exact && want[i] === 0) assert.is(got[i], 0, `${where}: must be exactly zero`);
  }
}

function largest(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s = Math.max(s, Math.abs(a[i]!));
  return s;
}

/** Rows of an n x m matrix with an entry above `level`. */
function rowsAbove(w: Float32Array, m: number, level: number): number {
  let rows = 0;
  for (let i = 0; i < w.length / m; i++) if (w.subarray(i * m, (i + 1) * m).some((v) => Math.abs(v) > level)) rows++;
  return rows;
}

const EXACT = { epsilon: 0, bias: false, relTol: 1e-5, maxIterations: 5000, penalty: 'group' } as const;

// Each output of the planted layer has k nonzero weights, so the element-wise bound of method.md
// already holds per output; the group program must recover the rows there, and exactly zero the rest.
test('linear layer: the planted rows come back exactly, every other row exactly zero', async () => {
  const n = 60, m = 6, k = 4, p = samplesNeeded(k, n);
  const l = plantedRows(n, m, k, p, false, 11);
  const r = await trimLayer(l.input, { ...EXACT, activation: 'linear' });
  assert.is(r.status, 'solved', `status ${r.status} after ${r.iterations} iterations`);
  assertRecovered(r.weights, l.w, m);
  assert.is(r.rowsKept, k);
  assert.is(r.nnz, k * m);
});

test('ReLU layer with an unpenalized bias: the planted rows and a zero bias come back', async () => {
  const n = 50, m = 5, k = 3;
  const p = 2 * samplesNeeded(k, n); // only the active half of the outputs gives equations
  const l = plantedRows(n, m, k, p, true, 23);
  const r = await trimLayer(l.input, { ...EXACT, activation: 'relu', bias: true });
  assert.is(r.status, 'solved', `status ${r.status} after ${r.iterations} iterations`);
  // a degenerate program (epsilon 0, inactive outputs): the other rows come out tiny, not always exactly 0
  assertRecovered(r.weights, l.w, m, false);
  assert.is(rowsAbove(r.weights, m, 1e-3 * largest(l.w)), k);
  for (const b of r.bias!) assert.ok(Math.abs(b) < 1e-3, `bias ${b}`);
  assert.ok(r.maxInactiveRelative < 1e-4, `inactive outputs pushed up by ${r.maxInactiveRelative} of max |Y|`);
});

// Block sparsity needs about k M + k log(N / k) equations in all (Eldar and Mishali 2009; Baraniuk et
// al. 2010), P M of them here: P = 14 is plenty for k = 4 of N = 60 rows and M = 16 outputs, while
// each output alone (4-sparse, 14 equations in 60 unknowns) is below what the l1 program needs.
test('few samples: the group program finds the shared rows where the element-wise one cannot', async () => {
  const n = 60, m = 16, k = 4, p = 14;
  const l = plantedRows(n, m, k, p, false, 7);
  const group = await trimLayer(l.input, { ...EXACT, activation: 'linear' });
  assert.is(group.status, 'solved', `status ${group.status}`);
  assertRecovered(group.weights, l.w, m);
  const l1 = await trimLayer(l.input, { ...EXACT, activation: 'linear', penalty: 'l1' });
  let miss = 0;
  for (let i = 0; i < l.w.length; i++) miss = Math.max(miss, Math.abs(l1.weights[i] - l.w[i]));
  assert.ok(miss > 0.1 * largest(l.w), `the l1 program came within ${miss} of the planted weights`);
  assert.ok(rowsAbove(l1.weights, m, 1e-3 * largest(l.w)) > k, 'the l1 program found only the planted rows');
});

test('convolution-like groups: rows in groups of 9 (3x3 taps of a channel), weighted sqrt(9), whole groups go', async () => {
  const channels = 12, size = 9, n = channels * size, m = 8, k = 2;
  const p = samplesNeeded(k * size, n);
  const l = plantedRows(n, m, k, p, false, 5, size);
  const r = await trimLayer(l.input, { ...EXACT, activation: 'linear' });
  assert.is(r.status, 'solved', `status ${r.status}`);
  assertRecovered(r.weights, l.w, m);
  assert.is(r.rowsKept, k * size);
  // the objective as the result states it: sum over groups of sqrt(9) ||W_g||
  let expected = 0;
  for (const g of l.used) {
    let sq = 0;
    for (let e = g * size * m; e < (g + 1) * size * m; e++) sq += l.w[e] ** 2;
    expected += 3 * Math.sqrt(sq);
  }
  assert.ok(Math.abs(r.groupNorm! - expected) <= 1e-3 * expected, `group norm ${r.groupNorm} vs planted ${expected}`);
});

// ---------------------------------------------------------------------------------------------
// Against the reference: a noisy teacher that is feasible, so the optimum exists and is below its norm.

interface Case { name: string; seed: number; n: number; m: number; p: number; relu: boolean; bias: boolean; size: number; epsilon: number }
const CASES: Case[] = [
  { name: 'relu, bias, 24x5, P=160, rows', seed: 31, n: 24, m: 5, p: 160, relu: true, bias: true, size: 1, epsilon: 0.1 },
  { name: 'relu, no bias, 24x4, P=120, groups of 3', seed: 32, n: 24, m: 4, p: 120, relu: true, bias: false, size: 3, epsilon: 0.2 },
  { name: 'linear, bias, 20x5, P=100, groups of 4', seed: 33, n: 20, m: 5, p: 100, relu: false, bias: true, size: 4, epsilon: 0.05 },
];

function noisyTeacher(c: Case): LayerInput {
  const l = plantedRows(c.n, c.m, Math.ceil(c.n / c.size / 3), c.p, c.relu, c.seed, c.size);
  const normal = gaussian(seededRandom(c.seed + 1000));
  // noise that keeps the teacher feasible: ReLU only upwards on active outputs
  const outputs = l.input.outputs.map((v) => (c.relu ? (v > 0 ? v + 0.02 * Math.abs(normal()) : 0) : v + 0.02 * normal()));
  return { ...l.input, outputs, rowGroups: Int32Array.from({ length: c.n }, (_, r) => Math.floor(r / c.size)) };
}

function stacked(r: TrimResult): Float64Array {
  const out = new Float64Array(r.weights.length + (r.bias?.length ?? 0));
  out.set(r.weights);
  if (r.bias) out.set(r.bias, r.weights.length);
  return out;
}

for (const c of CASES) {
  test(`${c.name}, eps ${c.epsilon}: the group objective matches the certified optimum`, async () => {
    const input = noisyTeacher(c);
    const options: ReferenceOptions = {
      epsilon: c.epsilon, epsilonMode: 'relative', activation: c.relu ? 'relu' : 'linear', bias: c.bias,
      penalty: 'group', tolerance: 1e-8, timeLimitSeconds: 20,
    };
    const ref = solveReference(input, options);
    assert.ok(ref.converged, `reference did not converge: gap ${ref.gap}, ${ref.iterations} iterations`);
    const trim = await trimLayer(input, {
      epsilon: c.epsilon, activation: options.activation, bias: c.bias, penalty: 'group', relTol: 1e-5, maxIterations: 20_000,
    });
    const context = `\n  trimLayer: ${trim.groupNorm} (${trim.status}, ${trim.iterations} it), reference ${ref.objective} (dual ${ref.dualValue})`;
    assert.ok(Math.abs(trim.groupNorm! - ref.objective) <= 1e-3 * ref.objective, `objectives differ${context}`);
    // feasible, as reported and as measured in float64 by the reference
    const measured = measureWeights(input, options, stacked(trim));
    assert.ok(measured.ballRatio <= 1 + 1e-3, `outside the epsilon ball: ${measured.ballRatio} x eps${context}`);
    assert.ok(measured.maxInactiveRelative <= 1e-3, `inactive constraint violated: ${measured.maxInactiveRelative}${context}`);
    assert.ok(Math.abs(measured.objective - trim.groupNorm!) <= 1e-5 * trim.groupNorm!, `groupNorm ${trim.groupNorm} vs float64 ${measured.objective}`);
    // the same rows are kept (rows whose norm is above 1e-3 of the largest)
    const kept = (w: ArrayLike<number>) => {
      const norms = Array.from({ length: c.n }, (_, i) => Math.hypot(...Array.from({ length: c.m }, (_, j) => w[i * c.m + j]!)));
      const top = Math.max(...norms);
      return norms.map((v) => v > 1e-3 * top);
    };
    assert.equal(kept(trim.weights), kept(ref.weights), `kept rows differ${context}`);
  });
}

// ---------------------------------------------------------------------------------------------
// Builds and inputs.

test('the SIMD and scalar builds return the same group solution', async () => {
  const l = plantedRows(40, 12, 5, 120, true, 41);
  const input = { ...l.input, outputs: l.input.outputs.map((v, i) => (v > 0 ? v + 0.05 * Math.abs(Math.sin(i)) : 0)) };
  const settings = { epsilon: 0.1, penalty: 'group', relTol: 1e-5, maxIterations: 20_000 } as const;
  const results: TrimResult[] = [];
  for (const flavour of ['simd', 'scalar'] as const) {
    const solver = await LayerSolver.create({ flavour, threads: 1 });
    results.push(solver.solve(input, settings));
    await solver.close();
  }
  const [simd, scalar] = results;
  assert.is(simd.rowsKept, scalar.rowsKept);
  assert.ok(Math.abs(simd.groupNorm! - scalar.groupNorm!) <= 1e-4 * scalar.groupNorm!, `${simd.groupNorm} vs ${scalar.groupNorm}`);
  let diff = 0, scale = 0;
  for (let i = 0; i < simd.weights.length; i++) {
    diff = Math.max(diff, Math.abs(simd.weights[i] - scalar.weights[i]));
    scale = Math.max(scale, Math.abs(scalar.weights[i]));
  }
  assert.ok(diff <= 1e-3 * scale, `weights differ by ${diff} (largest ${scale})`);
});

test('rowGroups and groupWeights are checked, with the offending entry named', async () => {
  const l = plantedRows(8, 8, 2, 40, false, 3);
  const base = { ...l.input };
  const solve = (extra: Partial<LayerInput>) => trimLayer({ ...base, ...extra }, { penalty: 'group', activation: 'linear' });
  await assertRejects(solve({ rowGroups: new Int32Array(7) }), /rowGroups has 7 entries, expected 8/);
  await assertRejects(solve({ rowGroups: Int32Array.from([0, 0, 1, 1, -2, 2, 3, 3]) }), /rowGroups\[4\] is -2/);
  await assertRejects(solve({ rowGroups: new Int32Array(8).fill(3), groupWeights: new Float32Array(2) }), /groupWeights has 2 entries, but rowGroups uses group id 3/);
  await assertRejects(solve({ groupWeights: new Float32Array(8).fill(1).fill(0, 5, 6) }), /groupWeights\[5\] is 0/);
  await assertRejects(trimLayer(base, { penalty: 'rows' as 'group' }), /setting 'penalty' must be one of l1, group/);
  // l1 (the default) ignores the groups and reports no group figures
  const r = await trimLayer({ ...base, rowGroups: new Int32Array(8) }, { activation: 'linear' });
  assert.is(r.rowsKept, undefined);
});

async function assertRejects(p: Promise<unknown>, pattern: RegExp) {
  try {
    await p;
  } catch (err) {
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected an error matching ${pattern}`);
}

test.run();

// Planted recovery (method.md section 1): a layer that can be re-created with s nonzero weights per
// neuron is found exactly from P well above (11 s + 7) log N Gaussian samples with epsilon = 0.
// The theory, not our code, says what must come back.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { trimLayer } from '../src/index.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';

interface Planted { x: Float32Array; y: Float32Array; w: Float32Array; n: number; m: number; p: number }

/** Gaussian inputs and a teacher with exactly s nonzeros per neuron (values away from zero). */
function plantedLayer(n: number, m: number, s: number, p: number, relu: boolean, seed: number): Planted {
  const rand = seededRandom(seed), draw = gaussian(rand);
  const x = fill(p * n, draw);
  const w = new Float32Array(n * m);
  for (let j = 0; j < m; j++) {
    const rows = new Set<number>();
    while (rows.size < s) rows.add(Math.floor(rand() * n));
    for (const r of rows) w[r * m + j] = (rand() < 0.5 ? -1 : 1) * (0.5 + rand());
  }
  const y = new Float32Array(p * m);
  for (let q = 0; q < p; q++) {
    for (let j = 0; j < m; j++) {
      let v = 0;
      for (let r = 0; r < n; r++) v += x[q * n + r] * w[r * m + j];
      y[q * m + j] = relu ? Math.max(0, v) : v;
    }
  }
  return { x, y, w, n, m, p };
}

function samplesNeeded(s: number, n: number): number {
  return Math.ceil((11 * s + 7) * Math.log(n));
}

function assertRecovered(got: Float32Array, want: Float32Array, m: number) {
  let scale = 0;
  for (const v of want) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    const where = `row ${Math.floor(i / m)}, neuron ${i % m}`;
    const inSupport = want[i] !== 0, found = Math.abs(got[i]) > 1e-3 * scale;
    assert.is(found, inSupport, `${where}: planted ${want[i]}, got ${got[i]}`);
    assert.ok(Math.abs(got[i] - want[i]) <= 1e-3 * scale, `${where}: planted ${want[i]}, got ${got[i]}`);
  }
}

test('linear layer: the planted sparse weights come back exactly', async () => {
  const n = 60, m = 6, s = 3;
  const p = 2 * samplesNeeded(s, n);
  const l = plantedLayer(n, m, s, p, false, 11);
  const r = await trimLayer(
    { inputs: l.x, outputs: l.y, samples: p, inputSize: n, outputSize: m },
    { epsilon: 0, activation: 'linear', bias: false, relTol: 1e-5, maxIterations: 5000 },
  );
  assert.is(r.status, 'solved', `status ${r.status} after ${r.iterations} iterations`);
  assert.is(r.form, 'gram'); // P >= N, linear: the Gram form (test/gram.test.ts), and the theorem holds there too
  assertRecovered(r.weights, l.w, m);
  assert.is(r.nnz, m * s);
  assert.is(r.bias, null);
});

test('ReLU layer with bias: the planted weights and a zero bias come back', async () => {
  const n = 50, m = 5, s = 3;
  // only the active half of the outputs gives equations, so twice as many samples again
  const p = 4 * samplesNeeded(s, n);
  const l = plantedLayer(n, m, s, p, true, 23);
  const r = await trimLayer(
    { inputs: l.x, outputs: l.y, samples: p, inputSize: n, outputSize: m },
    { epsilon: 0, activation: 'relu', bias: true, relTol: 1e-5, maxIterations: 5000 },
  );
  assert.is(r.status, 'solved', `status ${r.status} after ${r.iterations} iterations`);
  assertRecovered(r.weights, l.w, m);
  for (const b of r.bias!) assert.ok(Math.abs(b) < 1e-3, `bias ${b}`);
  assert.ok(r.maxInactiveRelative < 1e-4, `inactive outputs pushed up by ${r.maxInactiveRelative} of max |Y|`);
});

test('too few samples: the planted layer is not the unique answer, and the solver says what it reached', async () => {
  const n = 60, m = 4, s = 8;
  const p = 12; // fewer equations per neuron than 2 s: no sparse-recovery theorem applies
  const l = plantedLayer(n, m, s, p, false, 5);
  const r = await trimLayer(
    { inputs: l.x, outputs: l.y, samples: p, inputSize: n, outputSize: m },
    { epsilon: 0, activation: 'linear', bias: false, maxIterations: 5000 },
  );
  // 12 equations in 60 unknowns per neuron leave an affine family whose l1-smallest member
  // (at most 12 nonzeros, a vertex) beats the planted 8-sparse one; the solver must find it
  let plantedL1 = 0;
  for (const v of l.w) plantedL1 += Math.abs(v);
  assert.ok(r.l1 < plantedL1 * 0.999, `l1 ${r.l1} vs planted ${plantedL1}`);
  // a degenerate program (its optimum is a vertex): float32 ADMM gets close but slowly, and must say so
  assert.ok(r.status === 'solved' || r.status === 'solved-inaccurate', `status ${r.status}`);
  assert.ok(r.relativeError < 1e-3, `error ${r.relativeError}`);
});

// The second size spans several column passes of the P x P Gram matrix and several row panels of
// the symmetric products (assembly/symmetric.ts) in both forms.
for (const [n, p] of [[64, 48], [600, 300]] as const) test(`fewer samples than inputs (the matrix-free path, N = ${n}, P = ${p}) agrees with the same equations stated twice`, async () => {
  // Repeating every sample leaves the feasible set of an epsilon = 0 program unchanged, but moves
  // it from P < N (solved through the P x P system) to P >= N (through the N x N system).
  const m = 4, s = 3;
  const l = plantedLayer(n, m, s, p, false, 31);
  const twice = (a: Float32Array) => { const b = new Float32Array(a.length * 2); b.set(a); b.set(a, a.length); return b; };
  const settings = { epsilon: 0, activation: 'linear', bias: false, relTol: 1e-5, maxIterations: 5000 } as const;
  const wide = await trimLayer({ inputs: l.x, outputs: l.y, samples: p, inputSize: n, outputSize: m }, settings);
  const tall = await trimLayer({ inputs: twice(l.x), outputs: twice(l.y), samples: 2 * p, inputSize: n, outputSize: m }, settings);
  assert.ok(Math.abs(wide.l1 - tall.l1) <= 1e-3 * tall.l1, `l1 ${wide.l1} (P < N) vs ${tall.l1} (P >= N)`);
  assert.is(wide.form, 'samples');
  assert.is(tall.form, 'gram'); // the P >= N copy runs in the Gram form: the two forms agree too
  assertRecovered(wide.weights, tall.weights, m);
  assert.ok(wide.relativeError < 1e-4 && tall.relativeError < 1e-4, `errors ${wide.relativeError}, ${tall.relativeError}`);
});

test.run();

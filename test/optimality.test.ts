// Optimality of trimLayer against an independent solver of the same program (method.md section 1):
// test/reference/pdhg.ts, float64 primal-dual hybrid gradient (Chambolle-Pock), no wasm, no linear
// solves, run to a 1e-9 duality gap. The reference proves its own answer (a dual-feasible multiplier
// whose value is within 1e-9 of ||W||_1, with W feasible), so a disagreement can be blamed on a side.
//
// Problems: seeded Gaussian inputs, outputs from a planted sparse-ish teacher layer (ReLU or linear,
// with or without bias, small noise), built so that the teacher itself is feasible: the program has a
// solution and its optimal value is at most ||W0||_1. One problem has a slack V (the cascade form).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { trimLayer, type Activation, type LayerInput, type TrimResult } from '../src/index.ts';
import { measureWeights, solveReference, type ReferenceOptions, type ReferenceResult } from './reference/pdhg.ts';
import { gaussian, seededRandom } from './helpers/random.ts';

// ---------------------------------------------------------------------------------------------
// Acceptance bounds.

/** trimLayer's l1 against the certified optimum. */
const L1_TOLERANCE = 1e-3;
/** The reference must prove optimality this tightly, far below L1_TOLERANCE. */
const REFERENCE_TOLERANCE = 1e-9;
/** trimLayer returns its sparse copy W2, allowed 1e-3 relative slack on the ball (assembly/admm.ts FEASIBILITY). */
const BALL_SLACK = 1e-3;
/** Largest (X W - V) on Omega^c, relative to max |Y|. */
const INACTIVE_TOLERANCE = 1e-3;
/** Entries counted as nonzero: |w| > SUPPORT_LEVEL * max |w|; the two supports must agree on this fraction. */
const SUPPORT_LEVEL = 1e-3;
const SUPPORT_AGREEMENT = 0.95;
/** Tighter than the default 1e-3 so the ADMM's own error sits well inside L1_TOLERANCE. */
const TRIM_SETTINGS = { relTol: 1e-5, maxIterations: 20_000 };

const EPSILONS = [0.05, 0.2];

// ---------------------------------------------------------------------------------------------
// Problems.

interface Case {
  name: string;
  seed: number;
  n: number;
  m: number;
  p: number;
  activation: Activation;
  bias: boolean;
  /** Cascade form: inputs perturbed by this much, V = the teacher's pre-activation on them. 0: no slack. */
  cascade: number;
}

const CASES: Case[] = [
  { name: 'relu, bias, 20x6, P=200', seed: 11, n: 20, m: 6, p: 200, activation: 'relu', bias: true, cascade: 0 },
  { name: 'relu, no bias, 12x4, P=120', seed: 12, n: 12, m: 4, p: 120, activation: 'relu', bias: false, cascade: 0 },
  { name: 'relu, bias, 20x4, P=40 (few samples)', seed: 13, n: 20, m: 4, p: 40, activation: 'relu', bias: true, cascade: 0 },
  { name: 'linear, bias, 16x5, P=150', seed: 14, n: 16, m: 5, p: 150, activation: 'linear', bias: true, cascade: 0 },
  { name: 'linear, no bias, 20x3, P=16 (P < N)', seed: 15, n: 20, m: 3, p: 16, activation: 'linear', bias: false, cascade: 0 },
  { name: 'relu, bias, slack V (cascade), 16x4, P=160', seed: 16, n: 16, m: 4, p: 160, activation: 'relu', bias: true, cascade: 0.02 },
];

// Teacher density, bias and noise sizes (relative to unit-variance inputs and weights).
const TEACHER_DENSITY = 0.4;
const TEACHER_BIAS = 0.3;
const NOISE = 0.01;

interface Planted {
  input: LayerInput;
  /** ||W0||_1 + ||b0||_1: an upper bound on the optimum, since the teacher is feasible. */
  teacherL1: number;
  /** ||(X W0 + b0 - Y)_{Y>0}||_F / ||Y||_F: the teacher's own error, below every epsilon tested. */
  teacherError: number;
}

/**
 * Gaussian X; Y = act(X W0 + b0) plus noise that keeps the teacher feasible: for ReLU only on the
 * active outputs and only upwards (an entry stays active, the inactive ones stay exactly 0), for
 * linear layers everywhere. Cascade: the program's inputs are Xhat = X + cascade * noise, the target
 * stays Y, and V = Xhat W0 + b0 (method.md section 2), so W0 meets the inactive constraint with equality.
 */
function plant(c: Case): Planted {
  const normal = gaussian(seededRandom(c.seed));
  const uniform = seededRandom(c.seed ^ 0x9e3779b9);
  const relu = c.activation === 'relu';
  const x = Float32Array.from({ length: c.p * c.n }, normal);
  const w0 = Float64Array.from({ length: c.n * c.m }, () => (uniform() < TEACHER_DENSITY ? normal() : 0));
  const b0 = Float64Array.from({ length: c.m }, () => (c.bias ? TEACHER_BIAS * normal() : 0));
  const z = affine(x, w0, b0, c);
  const y = new Float32Array(c.p * c.m);
  for (let e = 0; e < y.length; e++) {
    if (!relu) y[e] = z[e] + NOISE * normal();
    else y[e] = z[e] > 0 ? z[e] + NOISE * Math.abs(normal()) : 0;
  }
  let inputs = x, slack: Float32Array | undefined;
  if (c.cascade > 0) {
    inputs = x.map((value) => value + c.cascade * normal());
    slack = Float32Array.from(affine(inputs, w0, b0, c));
  }
  const teacherZ = affine(inputs, w0, b0, c);
  let errSq = 0, ySq = 0;
  for (let e = 0; e < y.length; e++) {
    ySq += y[e] ** 2;
    if (!relu || y[e] > 0) errSq += (teacherZ[e] - y[e]) ** 2;
  }
  return {
    input: { inputs, outputs: y, samples: c.p, inputSize: c.n, outputSize: c.m, ...(slack ? { slack } : {}) },
    teacherL1: sumAbs(w0) + sumAbs(b0),
    teacherError: Math.sqrt(errSq / ySq),
  };
}

/** X W0 + b0, P x M, in float64 from the float32 inputs the solvers see. */
function affine(x: Float32Array, w0: Float64Array, b0: Float64Array, c: Case): Float64Array {
  const out = new Float64Array(c.p * c.m);
  for (let s = 0; s < c.p; s++) {
    for (let k = 0; k < c.m; k++) {
      let v = b0[k];
      for (let j = 0; j < c.n; j++) v += x[s * c.n + j] * w0[j * c.m + k];
      out[s * c.m + k] = v;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Comparisons.

/** trimLayer's weights and bias as one R x M matrix, the layout of the reference (bias = last row). */
function stacked(result: TrimResult): Float64Array {
  const out = new Float64Array(result.weights.length + (result.bias?.length ?? 0));
  out.set(result.weights);
  if (result.bias) out.set(result.bias, result.weights.length);
  return out;
}

/** Fraction of entries on whose membership in {|w| > level * max |w|} the two matrices agree. */
function supportAgreement(a: Float64Array, b: Float64Array): number {
  const support = (w: Float64Array) => {
    const level = SUPPORT_LEVEL * Math.max(...w.map(Math.abs));
    return Array.from(w, (value) => Math.abs(value) > level);
  };
  const sa = support(a), sb = support(b);
  return sa.filter((inside, e) => inside === sb[e]).length / sa.length;
}

function sumAbs(a: ArrayLike<number>): number {
  let s = 0;
  for (let e = 0; e < a.length; e++) s += Math.abs(a[e]);
  return s;
}

function describeReference(ref: ReferenceResult): string {
  return `l1 ${ref.l1}, dual ${ref.dualValue}, gap ${ref.gap.toExponential(2)}, ball ratio ${ref.ballRatio}, ` +
    `max inactive ${ref.maxInactiveRelative.toExponential(2)} of max|Y|, ${ref.iterations} iterations, ${ref.seconds.toFixed(2)} s`;
}

function describeTrim(t: TrimResult): string {
  return `l1 ${t.l1}, relative error ${t.relativeError} (eps ${t.relativeEpsilon}), ` +
    `max inactive ${t.maxInactiveRelative.toExponential(2)} of max|Y|, status ${t.status}, ${t.iterations} iterations`;
}

// ---------------------------------------------------------------------------------------------
// Tests.

const test = suite('trimLayer vs the float64 PDHG reference');

for (const c of CASES) {
  const planted = plant(c);
  for (const epsilon of EPSILONS) {
    test(`${c.name}, eps ${epsilon}: trimLayer reaches the certified optimum`, async () => {
      assert.ok(planted.teacherError < epsilon, `the teacher must be feasible: its error ${planted.teacherError} >= eps ${epsilon}`);
      const settings = { epsilon, epsilonMode: 'relative' as const, activation: c.activation, bias: c.bias };
      const options: ReferenceOptions = { ...settings, tolerance: REFERENCE_TOLERANCE };

      // (a) the reference proves its answer: duality gap and feasibility below 1e-9, and, as a check that
      // needs no duality, its optimum is no worse than the feasible teacher's ||W0||_1
      const ref = solveReference(planted.input, options);
      assert.ok(ref.converged, `reference did not converge: ${describeReference(ref)}`);
      assert.ok(ref.l1 <= planted.teacherL1 * (1 + REFERENCE_TOLERANCE), `reference l1 ${ref.l1} above the teacher's ${planted.teacherL1}`);

      const trim = await trimLayer(planted.input, { ...settings, ...TRIM_SETTINGS });
      const context = `\n  trimLayer: ${describeTrim(trim)}\n  reference: ${describeReference(ref)}`;

      // (b) same optimal value
      const l1Difference = (trim.l1 - ref.l1) / ref.l1;
      assert.ok(Math.abs(l1Difference) <= L1_TOLERANCE, `l1 differs by ${l1Difference.toExponential(3)} relative${context}`);

      // (c) trimLayer's weights satisfy the program's constraints: as it reports them, and as measured
      // in float64 by the reference's own evaluation of the same weights
      assert.ok(trim.relativeError <= epsilon * (1 + BALL_SLACK), `outside the epsilon ball${context}`);
      assert.ok(trim.maxInactiveRelative <= INACTIVE_TOLERANCE, `inactive constraint violated${context}`);
      const measured = measureWeights(planted.input, options, stacked(trim));
      assert.ok(measured.ballRatio <= 1 + BALL_SLACK, `outside the epsilon ball in float64: ${measured.ballRatio} x eps${context}`);
      assert.ok(measured.maxInactiveRelative <= INACTIVE_TOLERANCE, `inactive constraint violated in float64: ${measured.maxInactiveRelative}${context}`);
      assert.ok(Math.abs(measured.relativeError - trim.relativeError) <= 1e-4 * epsilon,
        `trimLayer reports relative error ${trim.relativeError}, float64 gives ${measured.relativeError}${context}`);

      // (d) the same weights are kept
      const agreement = supportAgreement(stacked(trim), ref.weights);
      assert.ok(agreement >= SUPPORT_AGREEMENT, `supports agree on only ${(100 * agreement).toFixed(1)}% of entries${context}`);
    });
  }
}

test.run();

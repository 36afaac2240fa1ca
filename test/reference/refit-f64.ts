// The refit's step 1 and 2 as they were first written: plain TypeScript, float64, one neuron at a
// time, Cholesky factors of each neuron's k x k system. Kept as the reference the wasm refit
// (src/prune/refit.ts, assembly/refit.ts) is compared with (test/prune-refit.test.ts, bench/refit.ts).
// Not used by the library. Step 2 and the figures are refit.ts's own (imported): only w1 is solved here.
//
// (Original header.) The opt-in `refit` setting: after Net-Trim chose which weights to keep, move the kept weights
// toward the least-squares fit of the layer's targets, without leaving the program's feasible set.
// It is NOT Net-Trim's program (which minimises ||W||_1 over the feasible set) and is off by
// default. It keeps the support (so the nonzero counts) and the program's constraints.
//
// For each output neuron j with kept inputs S (the bias row counts when it was kept), w0 being
// Net-Trim's weights on S:
//   1. w1 = argmin ||(X_S^T w - y)_Omega||^2
//           subject to (X_S^T w)_p <= V_p for p in Omega^c   (ReLU layers; V = 0 in the parallel
//                                                             scheme, W0^T Xhat + b0 in the cascade)
//      by ADMM (Boyd et al. 2011, with the splitting s = X_S^T w on Omega^c, s <= V) started
//      at w0; a linear layer has no inequality and w1 is the plain least squares solution.
//      The system matrix is a k x k block (k kept inputs) built from the layer's Gram matrix and
//      the neuron's active samples, factored by Cholesky whenever rho changes; iterations are cheap.
//   2. w = w0 + t (w1 - w0) with the largest t in [0, 1] that keeps every inactive output within
//      its bound: (X_S^T w)_p <= max(V_p, (X_S^T w0)_p) + tau, tau = 1e-3 max |Y| (the ADMM is
//      stopped at a tolerance, so w1 may overshoot by that much; the solver itself counts
//      violations up to 1e-2 max |Y| as solved). A violation w0 already had never grows past it.
// The error on Omega is a convex quadratic in t, so when it is smaller at w1 than at w0 it is
// smaller all along the segment: the epsilon ball, met by w0, stays met (neuron by neuron, hence for
// the Frobenius sum). A neuron whose w1 does not lower the error keeps w0 (t = 0).
//
// Omega is the solver's: Y > activeThreshold * c0, c0 = 0.3 sqrt(max (X X^T)) (method.md 3).
// Memory: the (N + 1)^2 float64 Gram matrix of the program's live inputs.
import { DEFAULT_SETTINGS } from '../../src/settings.ts';
import type { LayerInput } from '../../src/types.ts';
import { activeError, augmented, largestStep, responses, type Neuron, type RefitResult } from '../../src/prune/refit.ts';

/** Inactive outputs may rise this fraction of max |Y| above their bound (the solver accepts 10x more as solved). */
const REFIT_TOLERANCE = 1e-3;
const ADMM_ITERATIONS = 300;
/** Iterations between rho updates. */
const RHO_EVERY = 10;
/** Over-relaxation (Boyd et al. 2011, 3.4.3): fewer iterations at the same cost each. */
const RELAXATION = 1.6;

/**
 * Refits one program's solution `solution` ((N [+1]) x M in the program's row order, the form of
 * the solver's initialWeights) on the program's data `input`.
 */
export function refitProgramF64(
  input: LayerInput, activation: 'relu' | 'linear', bias: boolean, solution: Float32Array,
  activeThreshold = DEFAULT_SETTINGS.activeThreshold,
): RefitResult {
  const { samples: p, inputSize: n, outputSize: m } = input;
  const rows = n + (bias ? 1 : 0);
  if (solution.length !== rows * m) throw new Error(`refit: solution has ${solution.length} entries, expected ${rows} x ${m}`);
  const columns = augmented(input, bias);
  const gram = gramMatrix(columns, rows, p);
  const regions = input.regions ?? null;
  const relu = regions ? regions.some((r) => r !== 0) : activation === 'relu';
  let maxDiag = 0;
  for (let i = 0; i < rows; i++) maxDiag = Math.max(maxDiag, gram[i * rows + i]!);
  const threshold = relu ? activeThreshold * (maxDiag > 0 ? 0.3 * Math.sqrt(maxDiag) : 1) : -Infinity;
  let ymax = 0;
  for (const v of input.outputs) ymax = Math.max(ymax, Math.abs(v));
  const tolerance = REFIT_TOLERANCE * ymax;

  const out = solution.slice();
  let y2 = 0;
  let before2 = 0;
  let after2 = 0;
  let maxInactive = relu ? -Infinity : 0;
  let steps = 0;
  let neurons = 0;
  const z0 = new Float64Array(p);
  const z1 = new Float64Array(p);
  for (let j = 0; j < m; j++) {
    const support: number[] = [];
    for (let i = 0; i < rows; i++) if (solution[i * m + j] !== 0) support.push(i);
    const active = new Uint8Array(p);
    let activeCount = 0;
    for (let s = 0; s < p; s++) {
      const y = input.outputs[s * m + j]!;
      y2 += y * y;
      if (regions ? regions[s * m + j] === 0 : y > threshold) {
        active[s] = 1;
        activeCount++;
      }
    }
    const neuron: Neuron = {
      columns, rows, p, support, active, y: (s) => input.outputs[s * m + j]!, v: (s) => (input.slack ? input.slack[s * m + j]! : 0),
      sign: (s) => (regions && regions[s * m + j] === 2 ? -1 : 1),
    };
    const w0 = Float64Array.from(support, (i) => solution[i * m + j]!);
    responses(neuron, w0, z0);
    const err0 = activeError(neuron, z0);
    before2 += err0;
    if (support.length > 0 && activeCount > 0) {
      neurons++;
      const w1 = relu ? constrainedLeastSquares(neuron, gram, w0, tolerance) : leastSquares(neuron, gram);
      let t = 0;
      if (w1) {
        responses(neuron, w1, z1);
        if (activeError(neuron, z1) < err0) t = relu ? largestStep(neuron, z0, z1, tolerance) : 1;
      }
      if (t > 0) for (let r = 0; r < support.length; r++) out[support[r]! * m + j] = w0[r]! + t * (w1![r]! - w0[r]!);
      steps += t;
    }
    // Figures of the weights returned (the float32 values actually stored).
    const w = Float64Array.from(support, (i) => out[i * m + j]!);
    responses(neuron, w, z1);
    after2 += activeError(neuron, z1);
    if (relu) for (let s = 0; s < p; s++) if (!active[s]) maxInactive = Math.max(maxInactive, neuron.sign(s) * (z1[s]! - neuron.v(s)));
  }
  const norm = Math.sqrt(y2) || 1;
  return {
    weights: out.slice(0, n * m),
    bias: bias ? out.slice(n * m) : null,
    relativeErrorBefore: Math.sqrt(before2) / norm,
    relativeError: Math.sqrt(after2) / norm,
    maxInactive: maxInactive === -Infinity ? 0 : maxInactive,
    meanStep: neurons > 0 ? steps / neurons : 0,
  };
}

/** X X^T (rows x rows, full), skipping zero inputs (post-ReLU and image inputs are mostly zero). */
function gramMatrix(x: Float64Array, rows: number, p: number): Float64Array {
  const gram = new Float64Array(rows * rows);
  const nonzero = new Int32Array(rows);
  for (let s = 0; s < p; s++) {
    const base = s * rows;
    let count = 0;
    for (let i = 0; i < rows; i++) if (x[base + i] !== 0) nonzero[count++] = i;
    for (let a = 0; a < count; a++) {
      const i = nonzero[a]!;
      const xi = x[base + i]!;
      const row = i * rows;
      for (let b = 0; b <= a; b++) gram[row + nonzero[b]!] += xi * x[base + nonzero[b]!]!;
    }
  }
  for (let i = 0; i < rows; i++) for (let k = 0; k < i; k++) gram[k * rows + i] = gram[i * rows + k]!;
  return gram;
}

/** sum over the active samples of x_s[S] y_s. */
function activeCross(nr: Neuron): Float64Array {
  const { columns, rows, support } = nr;
  const g = new Float64Array(support.length);
  for (let s = 0; s < nr.p; s++) {
    if (!nr.active[s]) continue;
    const y = nr.y(s);
    if (y === 0) continue;
    const base = s * rows;
    for (let r = 0; r < support.length; r++) g[r] += columns[base + support[r]!]! * y;
  }
  return g;
}

/** Cholesky factor of Gram[S, S] with a tiny ridge (1e-10 of its largest diagonal entry, grown up to 1e-4 if needed). */
function supportFactor(nr: Neuron, gram: Float64Array): Float64Array | null {
  const k = nr.support.length;
  const block = new Float64Array(k * k);
  let maxDiag = 0;
  for (let a = 0; a < k; a++) {
    for (let b = 0; b <= a; b++) block[a * k + b] = gram[nr.support[a]! * nr.rows + nr.support[b]!]!;
    maxDiag = Math.max(maxDiag, block[a * k + a]!);
  }
  if (!(maxDiag > 0)) return null;
  for (let ridge = 1e-10; ridge <= 1e-4; ridge *= 10) {
    const factor = cholesky(block, k, ridge * maxDiag);
    if (factor) return factor;
  }
  return null;
}

/** Linear layers: every sample is active, so Gram[S, S] w = X_S y. */
function leastSquares(nr: Neuron, gram: Float64Array): Float64Array | null {
  const factor = supportFactor(nr, gram);
  return factor ? solveCholesky(factor, activeCross(nr), nr.support.length) : null;
}

/**
 * ReLU layers: min 1/2 ||A w - y||^2 s.t. B w <= V, A = X_S^T on Omega, B = X_S^T on Omega^c.
 * ADMM on the splitting s = B w, s <= V (scaled dual u):
 *   (A^T A + rho B^T B) w = A^T y + rho B^T (s - u)
 *   s = min(V, B w~ + u), u += B w~ - s, with B w~ = alpha B w + (1 - alpha) s (over-relaxation)
 * A^T A is summed over the active samples and B^T B = Gram[S, S] - A^T A. rho starts where the two
 * blocks have equal traces and is rebalanced every RHO_EVERY iterations from the normalised
 * primal and dual residuals (as OSQP does), with a new Cholesky factor (k x k, cheap).
 * Stops when B w is within tau/2 of feasible and s moved less than tau/2 in the last iteration,
 * or after ADMM_ITERATIONS; step 2 of the header repairs what is left.
 */
function constrainedLeastSquares(nr: Neuron, gram: Float64Array, w0: Float64Array, tolerance: number): Float64Array | null {
  const { columns, rows, support } = nr;
  const k = support.length;
  const inactive: number[] = [];
  for (let s = 0; s < nr.p; s++) if (!nr.active[s]) inactive.push(s);
  const q = inactive.length;
  const b = new Float64Array(q * k);
  const v = new Float64Array(q);
  for (let r = 0; r < q; r++) {
    // sign * z <= sign * V: a lower bound is an upper bound on -z
    const base = inactive[r]! * rows;
    const sign = nr.sign(inactive[r]!);
    for (let c = 0; c < k; c++) b[r * k + c] = sign * columns[base + support[c]!]!;
    v[r] = sign * nr.v(inactive[r]!);
  }
  // H = A^T A over the active samples (lower triangle), K = Gram[S, S] - H.
  const h = new Float64Array(k * k);
  const column = new Float64Array(k);
  for (let s = 0; s < nr.p; s++) {
    if (!nr.active[s]) continue;
    const base = s * rows;
    for (let c = 0; c < k; c++) column[c] = columns[base + support[c]!]!;
    for (let r = 0; r < k; r++) {
      const x = column[r]!;
      if (x === 0) continue;
      for (let c = 0; c <= r; c++) h[r * k + c] += x * column[c]!;
    }
  }
  const kk = new Float64Array(k * k);
  let traceH = 0;
  let traceK = 0;
  for (let r = 0; r < k; r++) {
    for (let c = 0; c <= r; c++) kk[r * k + c] = gram[support[r]! * rows + support[c]!]! - h[r * k + c]!;
    traceH += h[r * k + r]!;
    traceK += kk[r * k + r]!;
  }
  const g = activeCross(nr);
  let rho = traceK > 0 && traceH > 0 ? traceH / traceK : 1;
  let factor = systemFactor(h, kk, k, rho);
  if (!factor) return null;
  let w: Float64Array = w0.slice();
  const bw = new Float64Array(q);
  const sv = new Float64Array(q);
  const u = new Float64Array(q);
  const rhs = new Float64Array(k);
  const moved = new Float64Array(q);
  multiply(b, w, bw, q, k);
  for (let r = 0; r < q; r++) sv[r] = Math.min(v[r]!, bw[r]!);
  for (let it = 1; it <= ADMM_ITERATIONS; it++) {
    rhs.set(g);
    for (let r = 0; r < q; r++) {
      const d = rho * (sv[r]! - u[r]!);
      if (d === 0) continue;
      const row = r * k;
      for (let c = 0; c < k; c++) rhs[c] += b[row + c]! * d;
    }
    w = solveCholesky(factor, rhs, k);
    multiply(b, w, bw, q, k);
    let primal = 0;
    let change = 0;
    for (let r = 0; r < q; r++) {
      const relaxed = RELAXATION * bw[r]! + (1 - RELAXATION) * sv[r]!;
      const next = Math.min(v[r]!, relaxed + u[r]!);
      moved[r] = next - sv[r]!;
      change = Math.max(change, Math.abs(moved[r]!));
      sv[r] = next;
      u[r] += relaxed - next;
      primal = Math.max(primal, bw[r]! - v[r]!);
    }
    if (primal <= tolerance / 2 && change <= tolerance / 2) break;
    if (it % RHO_EVERY !== 0) continue;
    // Normalised residuals: primal ||B w - s|| / max(||B w||, ||s||), dual rho ||B^T ds|| / max(||g||, rho ||B^T u||).
    let r2 = 0;
    let bw2 = 0;
    let s2 = 0;
    for (let r = 0; r < q; r++) {
      r2 += (bw[r]! - sv[r]!) ** 2;
      bw2 += bw[r]! ** 2;
      s2 += sv[r]! ** 2;
    }
    const dual = rho * norm(transposeMultiply(b, moved, q, k));
    const dualScale = Math.max(norm(g), rho * norm(transposeMultiply(b, u, q, k)), 1e-300);
    const primalScale = Math.max(Math.sqrt(bw2), Math.sqrt(s2), 1e-300);
    const ratio = Math.sqrt((Math.sqrt(r2) / primalScale) / Math.max(dual / dualScale, 1e-300));
    if (ratio > 5 || ratio < 0.2) {
      const next = rho * Math.min(100, Math.max(0.01, ratio));
      const f = systemFactor(h, kk, k, next);
      if (f) {
        for (let r = 0; r < q; r++) u[r] *= rho / next;
        rho = next;
        factor = f;
      }
    }
  }
  return w;
}

/** Cholesky factor of H + rho K (+ a tiny ridge: 1e-10 of the largest diagonal entry, grown up to 1e-4 if needed). */
function systemFactor(h: Float64Array, kk: Float64Array, k: number, rho: number): Float64Array | null {
  const m = new Float64Array(k * k);
  let maxDiag = 0;
  for (let r = 0; r < k; r++) {
    for (let c = 0; c <= r; c++) m[r * k + c] = h[r * k + c]! + rho * kk[r * k + c]!;
    maxDiag = Math.max(maxDiag, m[r * k + r]!);
  }
  if (!(maxDiag > 0)) return null;
  for (let ridge = 1e-10; ridge <= 1e-4; ridge *= 10) {
    const factor = cholesky(m, k, ridge * maxDiag);
    if (factor) return factor;
  }
  return null;
}

/** B^T x for B q x k row-major. */
function transposeMultiply(b: Float64Array, x: Float64Array, q: number, k: number): Float64Array {
  const out = new Float64Array(k);
  for (let r = 0; r < q; r++) {
    const v = x[r]!;
    if (v === 0) continue;
    const row = r * k;
    for (let c = 0; c < k; c++) out[c] += b[row + c]! * v;
  }
  return out;
}

function norm(x: Float64Array): number {
  let sum = 0;
  for (const v of x) sum += v * v;
  return Math.sqrt(sum);
}

/** out = B w, B q x k row-major. */
function multiply(b: Float64Array, w: Float64Array, out: Float64Array, q: number, k: number): void {
  for (let r = 0; r < q; r++) {
    let sum = 0;
    const row = r * k;
    for (let c = 0; c < k; c++) sum += b[row + c]! * w[c]!;
    out[r] = sum;
  }
}

/** Lower Cholesky factor of (G + ridge I), G given by its lower triangle (k x k); null if not positive definite. */
function cholesky(gram: Float64Array, k: number, ridge: number): Float64Array | null {
  const l = new Float64Array(k * k);
  for (let r = 0; r < k; r++) {
    for (let c = 0; c <= r; c++) {
      let sum = gram[r * k + c]! + (r === c ? ridge : 0);
      for (let q = 0; q < c; q++) sum -= l[r * k + q]! * l[c * k + q]!;
      if (r === c) {
        if (!(sum > 0)) return null;
        l[r * k + r] = Math.sqrt(sum);
      } else {
        l[r * k + c] = sum / l[c * k + c]!;
      }
    }
  }
  return l;
}

function solveCholesky(l: Float64Array, b: Float64Array, k: number): Float64Array {
  const y = new Float64Array(k);
  for (let r = 0; r < k; r++) {
    let sum = b[r]!;
    for (let q = 0; q < r; q++) sum -= l[r * k + q]! * y[q]!;
    y[r] = sum / l[r * k + r]!;
  }
  const w = new Float64Array(k);
  for (let r = k - 1; r >= 0; r--) {
    let sum = y[r]!;
    for (let q = r + 1; q < k; q++) sum -= l[q * k + r]! * w[q]!;
    w[r] = sum / l[r * k + r]!;
  }
  return w;
}

// An independent float64 reference for the per-layer Net-Trim program (method.md section 1):
//
//   ReLU:   minimize ||W||_1  s.t.  ||(X W - Y)_Omega||_F <= eps,  (X W)_{Omega^c} <= V_{Omega^c}
//   linear: minimize ||W||_1  s.t.  ||X W - Y||_F <= eps
//   regions (input.regions): Omega = region 0, X W <= V on region 1, X W >= V on region 2
//
// (sample-major here: X is P x R, W is R x M, so X W is the P x M matrix W^T X of method.md, transposed).
// It shares nothing with the project's solver but the data layout: plain TypeScript, Float64Array,
// no wasm, no linear solves, and a different algorithm, the primal-dual hybrid gradient method of
// Chambolle and Pock (2011) on  min_W f(W) + g(K W)  with
//   K W = X W,  f = ||.||_1 (prox: soft threshold),  g = indicator of the constraint set C on X W
//   (prox: projection; on Omega onto the eps ball around Y_Omega, on Omega^c min(., V)).
// The dual step uses prox of g* through Moreau: prox_{s g*}(u) = u - s proj_C(u / s).
// Speed-ups, none of which changes the fixed points: diagonal step sizes (Pock and Chambolle 2011),
// reflected Halpern iteration with adaptive restarts and a primal weight that balances the primal and
// dual steps (Lu and Yang 2024, cuPDLP+; Applegate et al. 2021, PDLP). Plain PDHG with scalar steps
// and a fixed weight of 1 also certifies the test problems, in up to 8x more iterations (the cascade
// one); it does so only because the test data have unit scale, and the adaptive weight does not need that.
// Group variant (method.md section 7, penalty 'group'): f = sum_g w_g ||W_g||_F over the row groups of
// input.rowGroups (default one row each; w_g = input.groupWeights[g] or sqrt(size)), the bias row not
// penalized. Its prox is the block soft threshold, with one step for all rows of a group (the smallest
// of theirs). The dual feasible set becomes ||(X^T L)_g||_F <= w_g and (X^T L)_bias = 0 (see dualBound).
// It returns a certificate that can be checked without trusting the iteration: the duality gap
// between ||W||_1 and the value of a dual-feasible multiplier, and the feasibility of W.
//
// Known limit: highly degenerate programs converge slowly. The cascade form without bias is one: with
// V = Xhat W0, every inactive constraint is tight at W0, the dual optimum is far from unique, and the
// gap can stay above 1e-9 for longer than the time limit. The certificate then says so (converged is
// false); it never reports a wrong optimum as converged.
import type { LayerInput } from '../../src/types.ts';

export interface ReferenceOptions {
  /** Ball radius: a fraction of ||Y||_F ('relative') or absolute. */
  epsilon: number;
  epsilonMode: 'relative' | 'absolute';
  activation: 'relu' | 'linear';
  /** 'l1' (default) or 'group': sum_g w_g ||W_g||_F over input.rowGroups, the bias row unpenalized. */
  penalty?: 'l1' | 'group';
  /** Append a ones column to X: the bias is the last row of W, penalised like any weight. */
  bias: boolean;
  /** Omega = {Y > activeThreshold * c0}, c0 = 0.3 sqrt(max (X^T X)): the project's rule. */
  activeThreshold?: number;
  /** Stop when the relative duality gap and the relative infeasibilities are all below this. */
  tolerance?: number;
  maxIterations?: number;
  timeLimitSeconds?: number;
}

/** The solution and the evidence that it is one. */
export interface ReferenceResult {
  /** R x M row-major (R = N, or N + 1 with the bias as the last row). */
  weights: Float64Array;
  rows: number;
  outputs: number;
  /** ||W||_1 of the returned W (the optimal value up to `gap` for penalty 'l1'). */
  l1: number;
  /** The objective of the returned W: ||W||_1, or sum_g w_g ||W_g||_F for penalty 'group'. */
  objective: number;
  /** Dual objective of the returned multiplier, scaled to be dual feasible: a lower bound on the optimum. */
  dualValue: number;
  /** (l1 - dualValue) / max(l1, dualValue): relative duality gap. */
  gap: number;
  /** ||(X W - Y)_Omega||_F / eps: <= 1 means inside the ball. */
  ballRatio: number;
  /** ||(X W - Y)_Omega||_F / ||Y||_F. */
  relativeError: number;
  /** Largest bound violation over Omega^c: X W - V above, V - X W below (-Infinity when Omega^c is empty). */
  maxInactive: number;
  /** maxInactive / max |Y|. */
  maxInactiveRelative: number;
  /** The absolute eps used and the size of Omega. */
  epsilon: number;
  activeCount: number;
  iterations: number;
  restarts: number;
  seconds: number;
  /** Gap and both infeasibilities below the tolerance. */
  converged: boolean;
}

/** The program in float64, sample-major. */
interface Program {
  p: number;
  r: number;
  m: number;
  x: Float64Array; // P x R
  y: Float64Array; // P x M
  v: Float64Array; // P x M (0 where no slack was given)
  active: Uint8Array; // P x M, 1 on Omega
  lower: Uint8Array; // P x M, 1 where bounded below (X W >= V); the rest of Omega^c is bounded above
  epsilon: number;
  yNorm: number;
  yMax: number;
  /** Group program: each row's group (-1: not penalized, the bias row) and each group's weight. */
  groups: { of: Int32Array; weights: Float64Array } | null;
}

// the time limit is generous: on a shared 2-core machine 3 s stopped cases short of their 1e-9 gap
const DEFAULTS = { penalty: 'l1' as const, activeThreshold: 1e-6, tolerance: 1e-9, maxIterations: 400_000, timeLimitSeconds: 30 };

// Step safety factor: ||sigma^(1/2) K tau^(1/2)||^2 = STEP^2 < 1 (the PDHG convergence condition).
const STEP = 0.95;
// How often the certificate (two more products) is computed, and the time limit looked at.
const CHECK_EVERY = 32;
// Restart thresholds on the fixed-point residual relative to its value at the anchor, and the longest
// period as a fraction of all iterations so far (the constants of cuPDLP+); smoothing of the primal weight.
const RESTART_SUFFICIENT = 0.2;
const RESTART_NECESSARY = 0.8;
const RESTART_ARTIFICIAL = 0.36;
const WEIGHT_SMOOTHING = 0.5;
// Largest change of the primal weight at one restart. Without it, a period in which one side barely
// moved (the dual sat still for a few steps) sent omega to 2e-8 on one test problem, the iterate
// collapsed to W = 0 and never recovered.
const MAX_WEIGHT_CHANGE = 10;

export function solveReference(input: LayerInput, options: ReferenceOptions): ReferenceResult {
  const started = performance.now();
  const opts = { ...DEFAULTS, ...options };
  const prog = buildProgram(input, opts);
  const state = runPdhg(prog, opts, started);
  const cert = certify(prog, state.w, state.lambda);
  return {
    weights: state.w, rows: prog.r, outputs: prog.m,
    ...cert,
    epsilon: prog.epsilon,
    activeCount: countOnes(prog.active),
    iterations: state.iterations,
    restarts: state.restarts,
    seconds: (performance.now() - started) / 1000,
    converged: isConverged(cert, opts.tolerance),
  };
}

/**
 * Objective and constraints of any weights (e.g. another solver's), evaluated in float64 on this
 * program: R x M row-major, the bias (when options.bias) as the last row.
 */
export function measureWeights(input: LayerInput, options: ReferenceOptions, weights: Float64Array): PrimalMeasures {
  const prog = buildProgram(input, { ...DEFAULTS, ...options });
  if (weights.length !== prog.r * prog.m) throw new Error(`expected ${prog.r} x ${prog.m} weights, got ${weights.length} entries`);
  return measure(prog, weights);
}

// ---------------------------------------------------------------------------------------------
// The program.

function buildProgram(input: LayerInput, opts: Required<ReferenceOptions>): Program {
  const { samples: p, inputSize: n, outputSize: m } = input;
  const r = n + (opts.bias ? 1 : 0);
  const x = new Float64Array(p * r);
  for (let s = 0; s < p; s++) {
    for (let j = 0; j < n; j++) x[s * r + j] = input.inputs[s * n + j];
    if (opts.bias) x[s * r + n] = 1;
  }
  const y = Float64Array.from(input.outputs);
  const v = input.slack ? Float64Array.from(input.slack) : new Float64Array(p * m);
  const relu = opts.activation === 'relu';
  // The activity threshold is stated in the project's scaled units (Y / c0), c0 from the Gram matrix
  // of X with its ones column: reproduce it so both programs have the same Omega.
  const c0 = 0.3 * Math.sqrt(maxGramEntry(x, p, r)) || 1;
  const active = new Uint8Array(p * m);
  const lower = new Uint8Array(p * m);
  if (input.regions) {
    for (let e = 0; e < p * m; e++) {
      active[e] = input.regions[e] === 0 ? 1 : 0;
      lower[e] = input.regions[e] === 2 ? 1 : 0;
    }
  } else {
    for (let e = 0; e < p * m; e++) active[e] = !relu || y[e] > opts.activeThreshold * c0 ? 1 : 0;
  }
  const yNorm = norm2(y);
  const epsilon = opts.epsilonMode === 'relative' ? opts.epsilon * yNorm : opts.epsilon;
  let yMax = 0;
  for (const value of y) yMax = Math.max(yMax, Math.abs(value));
  const groups = opts.penalty === 'group' ? rowGroups(input, r) : null;
  return { p, r, m, x, y, v, active, lower, epsilon, yNorm, yMax, groups };
}

/** Group of each of the R rows (renumbered 0..G-1, -1 for the bias row) and the groups' weights. */
function rowGroups(input: LayerInput, r: number): { of: Int32Array; weights: Float64Array } {
  const of = new Int32Array(r).fill(-1), number = new Map<number, number>(), size: number[] = [];
  for (let j = 0; j < input.inputSize; j++) {
    const id = input.rowGroups ? input.rowGroups[j]! : j;
    if (!number.has(id)) { number.set(id, size.length); size.push(0); }
    of[j] = number.get(id)!;
    size[of[j]!]! += 1;
  }
  const weights = new Float64Array(size.length);
  for (const [id, g] of number) weights[g] = input.groupWeights ? input.groupWeights[id]! : Math.sqrt(size[g]!);
  return { of, weights };
}

function maxGramEntry(x: Float64Array, p: number, r: number): number {
  let best = 0;
  for (let i = 0; i < r; i++) {
    for (let j = i; j < r; j++) {
      let s = 0;
      for (let k = 0; k < p; k++) s += x[k * r + i] * x[k * r + j];
      best = Math.max(best, s);
    }
  }
  return best;
}

// ---------------------------------------------------------------------------------------------
// Linear algebra: the operator K W = X W and its adjoint K^T L = X^T L.

/** out (P x M) = X (P x R) W (R x M). */
function applyK(prog: Program, w: Float64Array, out: Float64Array): void {
  const { p, r, m, x } = prog;
  out.fill(0);
  for (let s = 0; s < p; s++) {
    for (let j = 0; j < r; j++) {
      const a = x[s * r + j];
      if (a === 0) continue;
      for (let c = 0; c < m; c++) out[s * m + c] += a * w[j * m + c];
    }
  }
}

/** out (R x M) = X^T (R x P) L (P x M). */
function applyKt(prog: Program, lambda: Float64Array, out: Float64Array): void {
  const { p, r, m, x } = prog;
  out.fill(0);
  for (let s = 0; s < p; s++) {
    for (let j = 0; j < r; j++) {
      const a = x[s * r + j];
      if (a === 0) continue;
      for (let c = 0; c < m; c++) out[j * m + c] += a * lambda[s * m + c];
    }
  }
}

/**
 * Diagonal preconditioners of Pock and Chambolle (2011), alpha = 1: T_j = 1 / sum_s |X_sj| for row j of
 * W, S_e = 1 / sum_j |X_sj| for entry e = (s, m) of the dual. They make the bias row (a column of ones
 * in X) and the input rows take comparable steps, and give ||S^(1/2) K T^(1/2)|| <= 1. On Omega^c the
 * prox of g* is separable, so each entry keeps its own step; on Omega it is one ball, whose prox
 * needs one step for all entries: the smallest of theirs (a smaller step keeps the bound).
 */
function preconditioners(prog: Program): { primal: Float64Array; dual: Float64Array } {
  const { p, r, m, x, active } = prog;
  const primal = new Float64Array(r), rowSums = new Float64Array(p);
  for (let s = 0; s < p; s++) {
    for (let j = 0; j < r; j++) {
      primal[j] += Math.abs(x[s * r + j]);
      rowSums[s] += Math.abs(x[s * r + j]);
    }
  }
  for (let j = 0; j < r; j++) primal[j] = primal[j] > 0 ? 1 / primal[j] : 1;
  if (prog.groups) {
    // the block prox needs one step for all rows of a group: the smallest of theirs
    const least = new Float64Array(prog.groups.weights.length).fill(Infinity);
    for (let j = 0; j < r; j++) if (prog.groups.of[j]! >= 0) least[prog.groups.of[j]!] = Math.min(least[prog.groups.of[j]!]!, primal[j]!);
    for (let j = 0; j < r; j++) if (prog.groups.of[j]! >= 0) primal[j] = least[prog.groups.of[j]!]!;
  }
  const dual = new Float64Array(p * m);
  let ball = Infinity;
  for (let e = 0; e < p * m; e++) {
    const sum = rowSums[Math.floor(e / m)];
    dual[e] = sum > 0 ? 1 / sum : 1;
    if (active[e]) ball = Math.min(ball, dual[e]);
  }
  for (let e = 0; e < p * m; e++) if (active[e]) dual[e] = ball;
  return { primal, dual };
}

/**
 * ||S^(1/2) K T^(1/2)||_2 by power iteration. It is <= 1 by the choice of S and T; the exact value, when
 * the iteration settles, allows larger steps. When it does not settle (close top singular values), the
 * guaranteed bound 1 is used: an estimate from below could break the step condition.
 */
function operatorNorm(prog: Program, primal: Float64Array, dual: Float64Array): number {
  const { r, m } = prog;
  let u = new Float64Array(r * m).fill(1 / Math.sqrt(r * m));
  const scaled = new Float64Array(r * m), image = new Float64Array(prog.p * m), back = new Float64Array(r * m);
  let estimate = 0;
  for (let it = 0; it < 500; it++) {
    // u <- (S^(1/2) K T^(1/2))^T (S^(1/2) K T^(1/2)) u
    for (let e = 0; e < u.length; e++) scaled[e] = Math.sqrt(primal[Math.floor(e / m)]) * u[e];
    applyK(prog, scaled, image);
    for (let e = 0; e < image.length; e++) image[e] *= dual[e];
    applyKt(prog, image, back);
    for (let e = 0; e < back.length; e++) back[e] *= Math.sqrt(primal[Math.floor(e / m)]);
    const norm = norm2(back);
    if (norm === 0) return 1;
    const previous = estimate;
    estimate = Math.sqrt(norm);
    u = back.map((value) => value / norm);
    // settled: the margin covers what is left of the approach from below
    if (Math.abs(estimate - previous) <= 1e-8 * estimate) return Math.min(1, estimate * (1 + 1e-3));
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------
// The two proximal maps.

/**
 * proj_C(u) into out: Omega onto the eps ball around Y_Omega (one ball for all of Omega), Omega^c
 * min(u, V) (max(u, V) where bounded below).
 */
function projectConstraint(prog: Program, u: Float64Array, out: Float64Array): void {
  const { y, v, active, lower, epsilon } = prog;
  let distSq = 0;
  for (let e = 0; e < u.length; e++) if (active[e]) distSq += (u[e] - y[e]) ** 2;
  const dist = Math.sqrt(distSq);
  const gain = dist > epsilon ? epsilon / dist : 1;
  for (let e = 0; e < u.length; e++) {
    out[e] = active[e] ? y[e] + gain * (u[e] - y[e]) : lower[e] ? Math.max(u[e], v[e]) : Math.min(u[e], v[e]);
  }
}

/** Soft threshold, row-wise step: w = sign(a) max(|a| - tau_j, 0), a = w - tau_j (K^T L). */
function primalStep(prog: Program, w: Float64Array, grad: Float64Array, tau: Float64Array, out: Float64Array): void {
  const { r, m } = prog;
  if (prog.groups) return groupStep(prog, w, grad, tau, out);
  for (let j = 0; j < r; j++) {
    for (let c = 0; c < m; c++) {
      const e = j * m + c;
      const a = w[e] - tau[j] * grad[e];
      out[e] = Math.sign(a) * Math.max(Math.abs(a) - tau[j], 0);
    }
  }
}

/**
 * Block soft threshold: a = w - tau_j (K^T L); each group scaled by max(0, 1 - tau_g w_g / ||a_g||_F)
 * (tau is the same on a group's rows); unpenalized rows (the bias) keep a.
 */
function groupStep(prog: Program, w: Float64Array, grad: Float64Array, tau: Float64Array, out: Float64Array): void {
  const { r, m } = prog, { of, weights } = prog.groups!;
  const sq = new Float64Array(weights.length), cut = new Float64Array(weights.length);
  for (let j = 0; j < r; j++) {
    for (let c = 0; c < m; c++) out[j * m + c] = w[j * m + c] - tau[j] * grad[j * m + c];
    if (of[j]! < 0) continue;
    for (let c = 0; c < m; c++) sq[of[j]!] += out[j * m + c] ** 2;
    cut[of[j]!] = tau[j] * weights[of[j]!]!;
  }
  for (let j = 0; j < r; j++) {
    const g = of[j]!;
    if (g < 0) continue;
    const norm = Math.sqrt(sq[g]!), f = norm > cut[g]! ? 1 - cut[g]! / norm : 0;
    for (let c = 0; c < m; c++) out[j * m + c] *= f;
  }
}

/**
 * Dual step by Moreau: L+ = u - sigma proj_C(u / sigma), u = L + sigma K Wbar, entry-wise steps sigma.
 * The steps are equal across Omega, so the projection onto the one ball is still the plain one.
 */
function dualStep(prog: Program, lambda: Float64Array, kBar: Float64Array, sigma: Float64Array, out: Float64Array, scratch: Float64Array): void {
  for (let e = 0; e < lambda.length; e++) scratch[e] = (lambda[e] + sigma[e] * kBar[e]) / sigma[e];
  projectConstraint(prog, scratch, out);
  for (let e = 0; e < lambda.length; e++) {
    const next = lambda[e] + sigma[e] * (kBar[e] - out[e]);
    // on Omega^c this is max(u - sigma V, 0) >= 0 exactly (min(., 0) <= 0 where bounded below);
    // rounding the Moreau form can leave -1e-17, which would make the multiplier dual infeasible
    out[e] = prog.active[e] ? next : prog.lower[e] ? Math.min(next, 0) : Math.max(next, 0);
  }
}

// ---------------------------------------------------------------------------------------------
// The iteration.

interface PdhgState {
  w: Float64Array;
  lambda: Float64Array;
  iterations: number;
  restarts: number;
}

function runPdhg(prog: Program, opts: Required<ReferenceOptions>, started: number): PdhgState {
  const { p, r, m } = prog;
  const { primal, dual } = preconditioners(prog);
  const norm = operatorNorm(prog, primal, dual);
  // tau_j = STEP T_j / (omega L), sigma_e = STEP omega S_e / L: ||sigma^(1/2) K tau^(1/2)|| = STEP for every omega
  let omega = initialPrimalWeight(prog, primal, dual);
  const tau = new Float64Array(r), sigma = new Float64Array(p * m);
  const setSteps = () => {
    for (let j = 0; j < r; j++) tau[j] = (STEP * primal[j]) / (omega * norm);
    for (let e = 0; e < p * m; e++) sigma[e] = (STEP * omega * dual[e]) / norm;
  };
  setSteps();

  // z = (w, lambda) is the Halpern iterate, Tz = (wT, lambdaT) one PDHG step from it, z0 the anchor
  const w = new Float64Array(r * m), lambda = new Float64Array(p * m);
  const wT = new Float64Array(r * m), lambdaT = new Float64Array(p * m);
  let w0 = w.slice(), lambda0 = lambda.slice();
  const grad = new Float64Array(r * m), wBar = new Float64Array(r * m);
  const kBar = new Float64Array(p * m), scratch = new Float64Array(p * m);
  let anchorResidual = 0, previousResidual = Infinity;
  let iterations = 0, restarts = 0, sinceRestart = 0;

  while (iterations < opts.maxIterations) {
    iterations++;
    // Tz: one PDHG step, w first (soft threshold), then lambda at the extrapolated 2 wT - w
    applyKt(prog, lambda, grad);
    primalStep(prog, w, grad, tau, wT);
    for (let e = 0; e < w.length; e++) wBar[e] = 2 * wT[e] - w[e];
    applyK(prog, wBar, kBar);
    dualStep(prog, lambda, kBar, sigma, lambdaT, scratch);
    const residual = stepResidual(prog, w, wT, lambda, lambdaT, tau, sigma);
    if (sinceRestart === 0) anchorResidual = residual; // z is the anchor: this is its residual

    // Tz, not z, carries the certificate: its lambda is >= 0 on Omega^c exactly (the Moreau step)
    if (iterations % CHECK_EVERY === 0) {
      if (isConverged(certify(prog, wT, lambdaT), opts.tolerance)) break;
      if ((performance.now() - started) / 1000 > opts.timeLimitSeconds) break;
    }
    if (shouldRestart(residual, anchorResidual, previousResidual, sinceRestart, iterations)) {
      // Restart at Tz and re-balance the primal weight from how far each side moved since the last
      // anchor, so that both sides converge at the same pace (PDLP's primal weight update). The
      // distances are measured in the metrics of the preconditioners: the variables the steps see are
      // T^(-1/2) w and S^(-1/2) lambda.
      const dw = distance(wT, w0, primal), dl = distance(lambdaT, lambda0, dual);
      if (dw > 1e-300 && dl > 1e-300) {
        const target = Math.exp(WEIGHT_SMOOTHING * Math.log(dl / dw) + (1 - WEIGHT_SMOOTHING) * Math.log(omega));
        omega = Math.min(omega * MAX_WEIGHT_CHANGE, Math.max(omega / MAX_WEIGHT_CHANGE, target));
        setSteps();
      }
      w.set(wT);
      lambda.set(lambdaT);
      w0 = w.slice();
      lambda0 = lambda.slice();
      previousResidual = Infinity;
      sinceRestart = 0;
      restarts++;
      continue;
    }
    // Reflected Halpern step: z <- k/(k+1) (2 Tz - z) + 1/(k+1) z0. 2T - I is nonexpansive in the
    // PDHG metric, and the pull towards the anchor makes the residual fall like 1/k (Lu and Yang 2024).
    sinceRestart++;
    const a = sinceRestart / (sinceRestart + 1);
    for (let e = 0; e < w.length; e++) w[e] = a * (2 * wT[e] - w[e]) + (1 - a) * w0[e];
    for (let e = 0; e < lambda.length; e++) lambda[e] = a * (2 * lambdaT[e] - lambda[e]) + (1 - a) * lambda0[e];
    previousResidual = residual;
  }
  return { w: wT, lambda: lambdaT, iterations, restarts };
}

/**
 * Restart tests of restarted Halpern PDHG (Lu and Yang 2024, cuPDLP+): the fixed-point residual fell
 * enough since the anchor; or fell somewhat and stopped falling; or the period grew too long.
 */
function shouldRestart(residual: number, anchor: number, previous: number, since: number, total: number): boolean {
  if (since === 0) return false;
  if (residual <= RESTART_SUFFICIENT * anchor) return true;
  if (residual <= RESTART_NECESSARY * anchor && residual > previous) return true;
  return since >= RESTART_ARTIFICIAL * total;
}

/**
 * Initial primal weight omega ~ |lambda| / |W|, both in their preconditioned metrics: W ~ Y / X, and
 * lambda ~ 1 / X since |X^T lambda|_inf <= 1 at the optimum.
 */
function initialPrimalWeight(prog: Program, primal: Float64Array, dual: Float64Array): number {
  const yRms = norm2(prog.y) / Math.sqrt(prog.y.length) || 1;
  const mean = (a: Float64Array) => a.reduce((sum, value) => sum + value, 0) / a.length;
  return Math.sqrt(mean(primal) / mean(dual)) / yRms;
}

/** sqrt(|dW|_{tau^-1}^2 + |dL|_{sigma^-1}^2): the PDHG fixed-point residual, both sides in their metric. */
function stepResidual(
  prog: Program, w: Float64Array, wNext: Float64Array, lambda: Float64Array, lambdaNext: Float64Array,
  tau: Float64Array, sigma: Float64Array,
): number {
  let total = 0;
  for (let e = 0; e < w.length; e++) total += (wNext[e] - w[e]) ** 2 / tau[Math.floor(e / prog.m)];
  for (let e = 0; e < lambda.length; e++) total += (lambdaNext[e] - lambda[e]) ** 2 / sigma[e];
  return Math.sqrt(total);
}

/** ||D^(-1/2) (a - b)||, D diagonal given per entry, or per row of an R x M matrix (d.length = R). */
function distance(a: Float64Array, b: Float64Array, d: Float64Array): number {
  const width = a.length / d.length;
  let s = 0;
  for (let e = 0; e < a.length; e++) s += (a[e] - b[e]) ** 2 / d[Math.floor(e / width)];
  return Math.sqrt(s);
}

// ---------------------------------------------------------------------------------------------
// The certificate.

export interface PrimalMeasures {
  l1: number;
  /** ||W||_1, or sum_g w_g ||W_g||_F for the group program. */
  objective: number;
  /** ||(X W - Y)_Omega||_F / ||Y||_F. */
  relativeError: number;
  ballRatio: number;
  maxInactive: number;
  maxInactiveRelative: number;
}

interface Certificate extends PrimalMeasures {
  dualValue: number;
  gap: number;
}

/** The certificate of a primal-dual pair: the objective and feasibility of W, and the gap to the dual bound. */
function certify(prog: Program, w: Float64Array, lambda: Float64Array): Certificate {
  const primal = measure(prog, w);
  const dualValue = dualBound(prog, lambda);
  const scale = Math.max(Math.abs(primal.objective), Math.abs(dualValue), 1e-300);
  // a dual value of -infinity (a negative multiplier on Omega^c) certifies nothing
  const gap = Number.isFinite(dualValue) ? (primal.objective - dualValue) / scale : Infinity;
  return { ...primal, dualValue, gap };
}

/** ||W||_1 and how well W meets the constraints, in float64. */
function measure(prog: Program, w: Float64Array): PrimalMeasures {
  let l1 = 0;
  for (const value of w) l1 += Math.abs(value);
  const objective = prog.groups ? groupNorm(prog, w) : l1;
  const kw = new Float64Array(prog.p * prog.m);
  applyK(prog, w, kw);
  let errSq = 0, maxInactive = -Infinity;
  for (let e = 0; e < kw.length; e++) {
    if (prog.active[e]) errSq += (kw[e] - prog.y[e]) ** 2;
    else maxInactive = Math.max(maxInactive, prog.lower[e] ? prog.v[e] - kw[e] : kw[e] - prog.v[e]);
  }
  const error = Math.sqrt(errSq);
  return {
    l1,
    objective,
    relativeError: prog.yNorm > 0 ? error / prog.yNorm : error,
    ballRatio: prog.epsilon > 0 ? error / prog.epsilon : error,
    maxInactive,
    maxInactiveRelative: prog.yMax > 0 ? maxInactive / prog.yMax : maxInactive,
  };
}

/**
 * Weak duality: for a multiplier L with ||X^T L||_inf <= 1, L >= 0 on upper- and L <= 0 on lower-bounded
 * entries of Omega^c, every feasible W has
 * ||W||_1 >= -<L, X W> >= -sup_{Z in C} <L, Z> = -(<L, Y>_Omega + eps ||L_Omega||_F + <L, V>_{Omega^c}).
 * The iterate L has those signs by construction (Moreau step); dividing it by max(1, ||X^T L||_inf)
 * makes it dual feasible, and the bound is positively homogeneous, so it scales with it.
 */
function dualBound(prog: Program, multiplier: Float64Array): number {
  const lambda = prog.groups ? centredForBias(prog, multiplier) : multiplier;
  if (!lambda) return -Infinity;
  const kt = new Float64Array(prog.r * prog.m);
  applyKt(prog, lambda, kt);
  let infNorm = 0;
  for (const value of kt) infNorm = Math.max(infNorm, Math.abs(value));
  if (prog.groups) infNorm = largestGroupRatio(prog, kt);
  let support = 0, lambdaSq = 0;
  for (let e = 0; e < lambda.length; e++) {
    if (prog.active[e]) {
      support += lambda[e] * prog.y[e];
      lambdaSq += lambda[e] ** 2;
    } else {
      // g* is +infinity for a multiplier of the wrong sign on Omega^c (negative on an upper bound,
      // positive on a lower one): no bound at all, say so
      const allowed = prog.lower[e] ? lambda[e] <= 0 : lambda[e] >= 0;
      support += allowed ? lambda[e] * prog.v[e] : Infinity;
    }
  }
  support += prog.epsilon * Math.sqrt(lambdaSq);
  return -support / Math.max(1, infNorm);
}

/**
 * Group program with a bias row: its weights are not penalized, so f* is finite only where
 * (X^T L)_bias = sum over samples of L = 0, per output. Shifting L on the active entries of each output
 * (where its sign is free) makes it so; a multiplier whose output has no active entry cannot be fixed
 * (null). Without a bias row, L as it is.
 */
function centredForBias(prog: Program, lambda: Float64Array): Float64Array | null {
  if (!prog.groups!.of.includes(-1)) return lambda;
  const { p, m, active } = prog;
  const out = lambda.slice();
  for (let c = 0; c < m; c++) {
    let sum = 0, count = 0;
    for (let s = 0; s < p; s++) { sum += lambda[s * m + c]!; count += active[s * m + c]!; }
    if (sum === 0) continue;
    if (count === 0) return null;
    for (let s = 0; s < p; s++) if (active[s * m + c]) out[s * m + c] -= sum / count;
  }
  return out;
}

/** max_g ||(X^T L)_g||_F / w_g: L divided by it (when > 1) meets the group program's dual constraint. */
function largestGroupRatio(prog: Program, kt: Float64Array): number {
  const { of, weights } = prog.groups!;
  const sq = new Float64Array(weights.length);
  for (let j = 0; j < prog.r; j++) {
    if (of[j]! < 0) continue;
    for (let c = 0; c < prog.m; c++) sq[of[j]!] += kt[j * prog.m + c]! ** 2;
  }
  let worst = 0;
  sq.forEach((s, g) => { worst = Math.max(worst, Math.sqrt(s) / weights[g]!); });
  return worst;
}

/** sum_g w_g ||W_g||_F (rows of no group, the bias, not counted). */
function groupNorm(prog: Program, w: Float64Array): number {
  const { of, weights } = prog.groups!;
  const sq = new Float64Array(weights.length);
  for (let j = 0; j < prog.r; j++) {
    if (of[j]! < 0) continue;
    for (let c = 0; c < prog.m; c++) sq[of[j]!] += w[j * prog.m + c]! ** 2;
  }
  let total = 0;
  sq.forEach((s, g) => { total += weights[g]! * Math.sqrt(s); });
  return total;
}

function isConverged(cert: Certificate, tolerance: number): boolean {
  return Math.abs(cert.gap) <= tolerance && cert.ballRatio <= 1 + tolerance && cert.maxInactiveRelative <= tolerance;
}

function norm2(a: Float64Array): number {
  let s = 0;
  for (const value of a) s += value * value;
  return Math.sqrt(s);
}

function countOnes(a: Uint8Array): number {
  let c = 0;
  for (const value of a) c += value;
  return c;
}

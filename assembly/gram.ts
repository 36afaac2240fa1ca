// The ADMM of method.md section 3 in Gram form, for programs whose every entry is in the ball
// (linear layers: no inactive or bounded entries). Then every P x M iterate is X A + beta Y for an
// N x M matrix A and a scalar beta (the projection onto the ball only mixes Z and Y), so the loop
// keeps (A, G A, beta) instead of P x M blocks, with G = X^T X and C = X^T Y formed once:
//   <X A + b Y, X A' + b' Y> = <A, G A'> + b <Y, X A'> + b' <X A, Y> + b b' ||Y||^2
// and X^T (X A + b Y) = G A + b C. The iterates are the sample form's, step for step (in exact
// arithmetic); an iteration costs the W3 system's CG steps (N x N x M) and no N x M x P product.
// G W3 is read off CG's carried product (I + G) W3 (cg.ts), G A_U1 is carried along and recomputed
// exactly with CG's refresh, so no product with G is added to the loop either.
import { gemm } from './gemm';
import { arenaAllocF32, getF, setF } from './memory';
import { carriedProduct } from './cg';
import { systemMatrix, systemRhs, solveW3 } from './system';

// Sums of the last gramUpdateDuals, as updates.ts's updateDuals leaves them:
// quadA = ||W1 - Tnew||^2, quadB = ||Tnew - Told||^2, quadC = ||Tnew||^2, quadD = ||U1||^2.
export let quadA: f64 = 0;
export let quadB: f64 = 0;
export let quadC: f64 = 0;
export let quadD: f64 = 0;

let rows: i32 = 0, cols: i32 = 0;
// C = X^T Y; U1 = X au + betaU Y with gau = G au; W1 = X aw + betaW Y with gaw = G aw;
// gw3 = G W3 (gw3Prev: the step before); scratch holds G W2 for the feasibility test.
let c: usize = 0, au: usize = 0, gau: usize = 0, aw: usize = 0, gaw: usize = 0;
let gw3: usize = 0, gw3Prev: usize = 0, scratch: usize = 0;
let betaU: f64 = 0, betaW: f64 = 0, yy: f64 = 0;
// <D, G D> and <D, C> of the last gramDistanceSq, D = W3 - au (gramUpdateW1 reuses them)
let dGd: f64 = 0, dC: f64 = 0;

/** Reserves eight N x M blocks; false when memory cannot grow. */
export function gramReserve(n: i32, m: i32): bool {
  rows = n; cols = m;
  const nm = <usize>n * m;
  c = arenaAllocF32(nm); au = arenaAllocF32(nm); gau = arenaAllocF32(nm); aw = arenaAllocF32(nm);
  gaw = arenaAllocF32(nm); gw3 = arenaAllocF32(nm); gw3Prev = arenaAllocF32(nm); scratch = arenaAllocF32(nm);
  return scratch != 0;
}

/**
 * After the system's set-up (system.ts formed I + G from the scaled X): C = X^T Y, ||Y||^2, the
 * duals at 0, and G W3 for the starting W3 (0 or the caller's warm start).
 */
export function gramSetup(x: usize, y: usize, w3: usize, n: i32, m: i32, p: i32): void {
  const pm = <usize>p * m, nm = <usize>n * m;
  gemm(c, m, x, 1, n, y, m, n, m, p, false); // X^T Y
  yy = 0;
  for (let e: usize = 0; e < pm; e++) yy += <f64>getF(y, e) * <f64>getF(y, e);
  memory.fill(au, 0, nm << 2); memory.fill(gau, 0, nm << 2);
  betaU = 0; betaW = 0;
  gramProduct(gw3, w3);
}

/** ||Z - Y||^2 with Z = T - U1 = X (W3 - au) - betaU Y: the distance the ball projection needs. */
export function gramDistanceSq(w3: usize): f64 {
  const nm = <usize>rows * cols;
  let s1: f64 = 0, s2: f64 = 0;
  for (let e: usize = 0; e < nm; e++) {
    const d = <f64>(getF(w3, e) - getF(au, e)), gd = <f64>(getF(gw3, e) - getF(gau, e));
    s1 += d * gd; s2 += d * <f64>getF(c, e);
  }
  dGd = s1; dC = s2;
  return quad(s1, s2, -(betaU + 1));
}

/**
 * W1 = Y + gain (Z - Y) = X (gain D) + (1 - gain - gain betaU) Y, then U1 += alpha W1 + (1 - alpha) T
 * with T = X W3 (updates.ts's updateW1). Returns ||W1||^2. Call right after gramDistanceSq.
 */
export function gramUpdateW1(w3: usize, gain: f32, alpha: f32): f64 {
  const nm = <usize>rows * cols, beta: f32 = 1 - alpha;
  betaW = 1 - <f64>gain - <f64>gain * betaU;
  for (let e: usize = 0; e < nm; e++) {
    const a = gain * (getF(w3, e) - getF(au, e)), ga = gain * (getF(gw3, e) - getF(gau, e));
    setF(aw, e, a); setF(gaw, e, ga);
    setF(au, e, getF(au, e) + alpha * a + beta * getF(w3, e));
    setF(gau, e, getF(gau, e) + alpha * ga + beta * getF(gw3, e));
  }
  betaU += <f64>alpha * betaW;
  const g = <f64>gain;
  return quad(g * g * dGd, g * dC, betaW);
}

/**
 * The W3 step (I + G) W3 = X^T (W1hat + U1) + (W2hat + U2) = G au + betaU C + u2, by CG from the
 * previous W3; then G W3 from CG's carried product. `refresh` also recomputes G au exactly.
 * Returns the CG steps taken.
 */
export function gramUpdateW3(u2: usize, w3: usize, maxCg: i32, cgTol: f32, refresh: bool): i32 {
  const nm = <usize>rows * cols, rhs = systemRhs(), bu = <f32>betaU;
  if (refresh) gramProduct(gau, au);
  for (let e: usize = 0; e < nm; e++) setF(rhs, e, getF(gau, e) + bu * getF(c, e) + getF(u2, e));
  memory.copy(gw3Prev, gw3, nm << 2);
  const steps = solveW3(w3, rows, cols, maxCg, cgTol, refresh);
  const aw3 = carriedProduct();
  for (let e: usize = 0; e < nm; e++) setF(gw3, e, getF(aw3, e) - getF(w3, e));
  return steps;
}

/** U1 -= Tnew = X W3, and the sums of updates.ts's updateDuals (quadA..quadD). */
export function gramUpdateDuals(w3: usize, w3Prev: usize): void {
  const nm = <usize>rows * cols;
  let pGp: f64 = 0, pC: f64 = 0, sGs: f64 = 0, tGt: f64 = 0, uGu: f64 = 0, uC: f64 = 0;
  for (let e: usize = 0; e < nm; e++) {
    const w = getF(w3, e), gw = getF(gw3, e), ce = <f64>getF(c, e);
    const a = getF(au, e) - w, ga = getF(gau, e) - gw;
    setF(au, e, a); setF(gau, e, ga);
    const pr = <f64>(getF(aw, e) - w), gpr = <f64>(getF(gaw, e) - gw);
    pGp += pr * gpr; pC += pr * ce;
    sGs += <f64>(w - getF(w3Prev, e)) * <f64>(gw - getF(gw3Prev, e));
    tGt += <f64>w * <f64>gw;
    uGu += <f64>a * <f64>ga; uC += <f64>a * ce;
  }
  quadA = quad(pGp, pC, betaW);
  quadB = Math.max(sGs, 0);
  quadC = Math.max(tGt, 0);
  quadD = quad(uGu, uC, betaU);
}

/** Rescales the scaled dual U1 (rho changed). */
export function gramScaleDuals(s: f32): void {
  const nm = <usize>rows * cols;
  for (let e: usize = 0; e < nm; e++) { setF(au, e, getF(au, e) * s); setF(gau, e, getF(gau, e) * s); }
  betaU *= <f64>s;
}

/** ||X W - Y||^2 = <W, G W> - 2 <W, C> + ||Y||^2 (one N x N x M product). */
export function gramFitSq(w: usize): f64 {
  gramProduct(scratch, w);
  const nm = <usize>rows * cols;
  let wGw: f64 = 0, wC: f64 = 0;
  for (let e: usize = 0; e < nm; e++) {
    wGw += <f64>getF(w, e) * <f64>getF(scratch, e);
    wC += <f64>getF(w, e) * <f64>getF(c, e);
  }
  return quad(wGw, -wC, 1);
}

/** The sample-form blocks the certificate reads: U1 = X au + betaU Y and T = X W3 (P x M each). */
export function gramMaterialize(x: usize, y: usize, u1: usize, t: usize, w3: usize, n: i32, m: i32, p: i32): void {
  const pm = <usize>p * m, bu = <f32>betaU;
  gemm(u1, m, x, n, 1, au, m, p, m, n, false);
  for (let e: usize = 0; e < pm; e++) setF(u1, e, getF(u1, e) + bu * getF(y, e));
  gemm(t, m, x, n, 1, w3, m, p, m, n, false);
}

/** ||X A + b Y||^2 from <A, G A> and <A, C>, never below 0 (rounding). */
function quad(aGa: f64, aC: f64, b: f64): f64 {
  return Math.max(aGa + 2 * b * aC + b * b * yy, 0);
}

/** out = G a = (I + G) a - a, with the system's matrix. */
function gramProduct(out: usize, a: usize): void {
  const nm = <usize>rows * cols;
  gemm(out, cols, systemMatrix(), rows, 1, a, cols, rows, cols, rows, false);
  for (let e: usize = 0; e < nm; e++) setF(out, e, getF(out, e) - getF(a, e));
}

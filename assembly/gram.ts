// The ADMM of method.md section 3 in Gram form, for programs whose every entry is in the ball
// (linear layers: no inactive or bounded entries). Then every P x M iterate is X A + beta R for an
// N x M matrix A and a scalar beta: the projection onto the ball only mixes Z and Y, and Y is written
// X W* + R with W* a least-squares fit and R = Y - X W* measured once (leastsquares.ts). With
// L L^T = G + ridge I = X^T X + ridge I (a Cholesky factor, formed once) and d = X^T R,
//   ||X A + b R||^2 = ||L^T A||^2 - ridge ||A||^2 + 2 b <A, d> + b^2 ||R||^2,
//   X^T (X A + b R) = L (L^T A) - ridge A + b d,
// so the loop keeps (A, L^T A, beta) instead of P x M blocks. The norms are sums of squares: the
// residuals, which go to 0, do not cancel down to float32 rounding of ||Y||^2 or of <A, G A>.
// The iterates are the sample form's, step for step (in exact arithmetic); an iteration costs two
// N x N x M products and the W3 system's CG steps, and no N x M x P product.
import { gemm } from './gemm';
import { arenaAllocF32, getF, setF } from './memory';
import { systemRhs, solveW3 } from './system';
import { formGram64, gramFactor, leastSquares, leastSquaresReserve, writeSystem } from './leastsquares';

// Sums of the last gramUpdateDuals, as updates.ts's updateDuals leaves them:
// quadA = ||W1 - Tnew||^2, quadB = ||Tnew - Told||^2, quadC = ||Tnew||^2, quadD = ||U1||^2.
export let quadA: f64 = 0;
export let quadB: f64 = 0;
export let quadC: f64 = 0;
export let quadD: f64 = 0;

let rows: i32 = 0, cols: i32 = 0;
// l = L, lt = L^T (n x n); d = X^T R; W* and its image L^T W*; U1 = X au + betaU R with image iu;
// W1 = X aw + betaW R with image iw; i3 = L^T W3 (i3Prev: the step before); scratch: L^T W2.
let l: usize = 0, lt: usize = 0, d: usize = 0, wStar: usize = 0, iStar: usize = 0;
let au: usize = 0, iu: usize = 0, aw: usize = 0, iw: usize = 0;
let i3: usize = 0, i3Prev: usize = 0, scratch: usize = 0;
let betaU: f64 = 0, betaW: f64 = 0, rr: f64 = 0, ridge: f64 = 0;
// quadratic-form pieces of one (A, image, beta): sum image^2, sum A^2, sum A d
let sumII: f64 = 0, sumAA: f64 = 0, sumAD: f64 = 0;

/** Reserves the factor (twice), ten N x M blocks and the least-squares fit's; false when memory cannot grow. */
export function gramReserve(n: i32, m: i32): bool {
  rows = n; cols = m;
  const nm = <usize>n * m;
  l = arenaAllocF32(<usize>n * n); lt = arenaAllocF32(<usize>n * n);
  d = arenaAllocF32(nm); wStar = arenaAllocF32(nm); iStar = arenaAllocF32(nm);
  au = arenaAllocF32(nm); iu = arenaAllocF32(nm); aw = arenaAllocF32(nm); iw = arenaAllocF32(nm);
  i3 = arenaAllocF32(nm); i3Prev = arenaAllocF32(nm); scratch = arenaAllocF32(nm);
  return scratch != 0 && leastSquaresReserve(n, m);
}

/** G = X^T X in float64 (leastsquares.ts), and the system's matrix I + G from it (before systemSetup). */
export function gramForm(x: usize, sys: usize, n: i32, p: i32): void {
  formGram64(x, n, p);
  writeSystem(sys, n);
}

/**
 * After the system's set-up (system.ts: the preconditioner of I + G): the factor, W* and
 * R = Y - X W* (through `residual`, a P x M scratch block), d = X^T R, ||R||^2, the duals at 0,
 * and the image of the starting W3 (0 or the caller's warm start).
 */
export function gramSetup(x: usize, y: usize, w3: usize, residual: usize, n: i32, m: i32, p: i32): void {
  const pm = <usize>p * m, nm = <usize>n * m;
  gemm(d, m, x, 1, n, y, m, n, m, p, false); // C = X^T Y, then W* from G and C
  leastSquares(d, wStar, n, m);
  ridge = gramFactor(l, lt, n);
  gemm(residual, m, x, n, 1, wStar, m, p, m, n, false);
  rr = 0;
  for (let e: usize = 0; e < pm; e++) {
    const r = getF(y, e) - getF(residual, e);
    setF(residual, e, r);
    rr += <f64>r * <f64>r;
  }
  gemm(d, m, x, 1, n, residual, m, n, m, p, false); // X^T R
  image(iStar, wStar);
  memory.fill(au, 0, nm << 2); memory.fill(iu, 0, nm << 2);
  betaU = 0; betaW = 0;
  image(i3, w3);
}

/**
 * ||Z - Y||^2 with Z - Y = T - U1 - Y = X (W3 - au - W*) - (betaU + 1) R: the distance the ball
 * projection needs.
 */
export function gramDistanceSq(w3: usize): f64 {
  const nm = <usize>rows * cols;
  resetSums();
  for (let e: usize = 0; e < nm; e++) {
    accumulate(getF(w3, e) - getF(au, e) - getF(wStar, e), getF(i3, e) - getF(iu, e) - getF(iStar, e), e);
  }
  return quad(-(betaU + 1));
}

/**
 * W1 = Y + gain (Z - Y) = X (W* + gain D) + (1 - gain (1 + betaU)) R, with Z - Y = X D - (1 + betaU) R,
 * then U1 += alpha W1 + (1 - alpha) T with T = X W3 (updates.ts's updateW1). Returns ||W1||^2.
 */
export function gramUpdateW1(w3: usize, gain: f32, alpha: f32): f64 {
  const nm = <usize>rows * cols, beta: f32 = 1 - alpha;
  betaW = 1 - <f64>gain * (1 + betaU);
  resetSums();
  for (let e: usize = 0; e < nm; e++) {
    const a = getF(wStar, e) + gain * (getF(w3, e) - getF(au, e) - getF(wStar, e));
    const ia = getF(iStar, e) + gain * (getF(i3, e) - getF(iu, e) - getF(iStar, e));
    setF(aw, e, a); setF(iw, e, ia);
    accumulate(a, ia, e);
    setF(au, e, getF(au, e) + alpha * a + beta * getF(w3, e));
    setF(iu, e, getF(iu, e) + alpha * ia + beta * getF(i3, e));
  }
  betaU += <f64>alpha * betaW;
  return quad(betaW);
}

/**
 * The W3 step (I + G) W3 = X^T (W1hat + U1) + (W2hat + U2) = L iu - ridge au + betaU d + u2, by CG
 * from the previous W3; then its image. `refresh` recomputes the carried iu = L^T au exactly.
 * Returns the CG steps taken.
 */
export function gramUpdateW3(u2: usize, w3: usize, maxCg: i32, cgTol: f32, refresh: bool): i32 {
  const n = rows, m = cols, nm = <usize>n * m, rhs = systemRhs(), bu = <f32>betaU, r = <f32>ridge;
  if (refresh) image(iu, au);
  gemm(rhs, m, l, n, 1, iu, m, n, m, n, false); // L iu
  for (let e: usize = 0; e < nm; e++) setF(rhs, e, getF(rhs, e) - r * getF(au, e) + bu * getF(d, e) + getF(u2, e));
  memory.copy(i3Prev, i3, nm << 2);
  const steps = solveW3(w3, n, m, maxCg, cgTol, refresh);
  image(i3, w3);
  return steps;
}

/** U1 -= Tnew = X W3, and the sums of updates.ts's updateDuals (quadA..quadD). */
export function gramUpdateDuals(w3: usize, w3Prev: usize): void {
  const nm = <usize>rows * cols;
  // four quadratic forms in one pass: their pieces side by side
  let pII: f64 = 0, pAA: f64 = 0, pAD: f64 = 0, sII: f64 = 0, sAA: f64 = 0, tII: f64 = 0, tAA: f64 = 0;
  let uII: f64 = 0, uAA: f64 = 0, uAD: f64 = 0;
  for (let e: usize = 0; e < nm; e++) {
    const w = getF(w3, e), iw3 = getF(i3, e), de = <f64>getF(d, e);
    const a = getF(au, e) - w, ia = getF(iu, e) - iw3;
    setF(au, e, a); setF(iu, e, ia);
    const pa = <f64>(getF(aw, e) - w), pi = <f64>(getF(iw, e) - iw3);
    pII += pi * pi; pAA += pa * pa; pAD += pa * de;
    const sa = <f64>(w - getF(w3Prev, e)), si = <f64>(iw3 - getF(i3Prev, e));
    sII += si * si; sAA += sa * sa;
    tII += <f64>iw3 * <f64>iw3; tAA += <f64>w * <f64>w;
    uII += <f64>ia * <f64>ia; uAA += <f64>a * <f64>a; uAD += <f64>a * de;
  }
  quadA = quadOf(pII, pAA, pAD, betaW);
  quadB = quadOf(sII, sAA, 0, 0);
  quadC = quadOf(tII, tAA, 0, 0);
  quadD = quadOf(uII, uAA, uAD, betaU);
}

/** Rescales the scaled dual U1 (rho changed). */
export function gramScaleDuals(s: f32): void {
  const nm = <usize>rows * cols;
  for (let e: usize = 0; e < nm; e++) { setF(au, e, getF(au, e) * s); setF(iu, e, getF(iu, e) * s); }
  betaU *= <f64>s;
}

/** ||X W - Y||^2 = ||X (W - W*) - R||^2 (one N x N x M product). */
export function gramFitSq(w: usize): f64 {
  image(scratch, w);
  const nm = <usize>rows * cols;
  resetSums();
  for (let e: usize = 0; e < nm; e++) accumulate(getF(w, e) - getF(wStar, e), getF(scratch, e) - getF(iStar, e), e);
  return quad(-1);
}

/**
 * The sample-form blocks the certificate reads (P x M each): U1 = X au + betaU R
 * = X (au - betaU W*) + betaU Y, and T = X W3.
 */
export function gramMaterialize(x: usize, y: usize, u1: usize, t: usize, w3: usize, n: i32, m: i32, p: i32): void {
  const pm = <usize>p * m, nm = <usize>n * m, bu = <f32>betaU;
  for (let e: usize = 0; e < nm; e++) setF(scratch, e, getF(au, e) - bu * getF(wStar, e));
  gemm(u1, m, x, n, 1, scratch, m, p, m, n, false);
  for (let e: usize = 0; e < pm; e++) setF(u1, e, getF(u1, e) + bu * getF(y, e));
  gemm(t, m, x, n, 1, w3, m, p, m, n, false);
}

/** out = L^T a (n x m). */
function image(out: usize, a: usize): void {
  gemm(out, cols, lt, rows, 1, a, cols, rows, cols, rows, false);
}

function resetSums(): void {
  sumII = 0; sumAA = 0; sumAD = 0;
}

// @ts-ignore: decorator
@inline function accumulate(a: f32, ia: f32, e: usize): void {
  sumII += <f64>ia * <f64>ia; sumAA += <f64>a * <f64>a; sumAD += <f64>a * <f64>getF(d, e);
}

function quad(b: f64): f64 {
  return quadOf(sumII, sumAA, sumAD, b);
}

/** ||X A + b R||^2 from ||L^T A||^2, ||A||^2 and <A, d>, never below 0 (rounding). */
function quadOf(ii: f64, aa: f64, ad: f64, b: f64): f64 {
  return Math.max(ii - ridge * aa + 2 * b * ad + b * b * rr, 0);
}

// The ADMM of method.md section 3 in Gram form, for programs whose every entry is in the ball
// (linear layers: no inactive or bounded entries). Then every P x M iterate is X A + beta R for an
// N x M matrix A and a scalar beta: the projection onto the ball only mixes Z and Y, and Y is written
// X W* + R with W* a least-squares fit and R = Y - X W* measured once (leastsquares.ts). With
// G = X^T X and d = X^T R,
//   ||X A + b R||^2 = <A, G A> + 2 b <A, d> + b^2 ||R||^2,
//   X^T (X A + b R) = G A + b d,
// so the loop keeps (A, G A, beta) instead of P x M blocks. No factorization: G, the images G A
// and the A's are float64, so the quadratic forms cancel only down to ~1e-16 ||G|| ||A||^2 where X A
// is small (float32 would leave ~1e-7, too coarse for residuals that go to 0).
// The iterates are the sample form's, step for step (in exact arithmetic); an iteration costs one
// float64 N x N x M product (G W3) and the W3 system's CG steps, and no N x M x P product.
import { gemm } from './gemm';
import { gemm64 } from './gemm64';
import { arenaAlloc, arenaAllocF32, getF, setF } from './memory';
import { systemRhs, solveW3 } from './system';
import { formGram64, gramMatrix, leastSquares, leastSquaresReserve, writeSystem } from './leastsquares';

// Sums of the last gramUpdateDuals, as updates.ts's updateDuals leaves them:
// quadA = ||W1 - Tnew||^2, quadB = ||Tnew - Told||^2, quadC = ||Tnew||^2, quadD = ||U1||^2.
export let quadA: f64 = 0;
export let quadB: f64 = 0;
export let quadC: f64 = 0;
export let quadD: f64 = 0;

let rows: i32 = 0, cols: i32 = 0;
// float32: W* (n x m). float64 (n x m): d = X^T R and G W*; U1 = X au + betaU R with image gu = G au;
// W1 = X aw + betaW R with image gw; g3 = G W3 (g3Prev: the step before); w64: a float32 block
// widened for a product; image: G times it.
let wStar: usize = 0;
let d: usize = 0, gStar: usize = 0, au: usize = 0, gu: usize = 0, aw: usize = 0, gw: usize = 0;
let g3: usize = 0, g3Prev: usize = 0, w64: usize = 0, image: usize = 0;
let betaU: f64 = 0, betaW: f64 = 0, rr: f64 = 0;
// quadratic-form pieces of one (A, G A, beta): sum A (G A), sum A d
let sumAG: f64 = 0, sumAD: f64 = 0;

/** Reserves G, the fit's system and the N x M blocks above; false when memory cannot grow. */
export function gramReserve(n: i32, m: i32): bool {
  rows = n; cols = m;
  const nm = <usize>n * m, bytes = nm << 3;
  wStar = arenaAllocF32(nm);
  d = arenaAlloc(bytes); gStar = arenaAlloc(bytes); au = arenaAlloc(bytes); gu = arenaAlloc(bytes);
  aw = arenaAlloc(bytes); gw = arenaAlloc(bytes); g3 = arenaAlloc(bytes); g3Prev = arenaAlloc(bytes);
  w64 = arenaAlloc(bytes); image = arenaAlloc(bytes);
  return image != 0 && leastSquaresReserve(n);
}

/** G = X^T X in float64 (leastsquares.ts), and the system's matrix I + G from it (before systemSetup). */
export function gramForm(x: usize, sys: usize, n: i32, p: i32): void {
  formGram64(x, n, p);
  writeSystem(sys, n);
}

/**
 * After the system's set-up (system.ts: the preconditioner of I + G): W* by CG, R = Y - X W*
 * (through `residual`, a P x M scratch block), d = X^T R, ||R||^2, the duals at 0, and the image of
 * the starting W3 (0 or the caller's warm start).
 */
export function gramSetup(x: usize, y: usize, w3: usize, residual: usize, n: i32, m: i32, p: i32): void {
  const pm = <usize>p * m, nm = <usize>n * m, rhs = systemRhs();
  gemm(rhs, m, x, 1, n, y, m, n, m, p, false); // C = X^T Y, then W* from G and C
  leastSquares(wStar, n, m);
  gemm(residual, m, x, n, 1, wStar, m, p, m, n, false);
  rr = 0;
  for (let e: usize = 0; e < pm; e++) {
    const r = getF(y, e) - getF(residual, e);
    setF(residual, e, r);
    rr += <f64>r * <f64>r;
  }
  gemm(rhs, m, x, 1, n, residual, m, n, m, p, false); // X^T R
  for (let e: usize = 0; e < nm; e++) setD(d, e, <f64>getF(rhs, e));
  product32(gStar, wStar);
  memory.fill(au, 0, nm << 3); memory.fill(gu, 0, nm << 3);
  betaU = 0; betaW = 0;
  product32(g3, w3);
}

/**
 * ||Z - Y||^2 with Z - Y = T - U1 - Y = X (W3 - au - W*) - (betaU + 1) R: the distance the ball
 * projection needs.
 */
export function gramDistanceSq(w3: usize): f64 {
  const nm = <usize>rows * cols;
  resetSums();
  for (let e: usize = 0; e < nm; e++) {
    accumulate(<f64>getF(w3, e) - getD(au, e) - <f64>getF(wStar, e), getD(g3, e) - getD(gu, e) - getD(gStar, e), e);
  }
  return quad(-(betaU + 1));
}

/**
 * W1 = Y + gain (Z - Y) = X (W* + gain D) + (1 - gain (1 + betaU)) R, with Z - Y = X D - (1 + betaU) R,
 * then U1 += alpha W1 + (1 - alpha) T with T = X W3 (updates.ts's updateW1). Returns ||W1||^2.
 */
export function gramUpdateW1(w3: usize, gain: f32, alpha: f32): f64 {
  const nm = <usize>rows * cols, g = <f64>gain, al = <f64>alpha, be = 1 - al;
  betaW = 1 - g * (1 + betaU);
  resetSums();
  for (let e: usize = 0; e < nm; e++) {
    const s = <f64>getF(wStar, e), w = <f64>getF(w3, e), gs = getD(gStar, e), gw3 = getD(g3, e);
    const a = s + g * (w - getD(au, e) - s);
    const ga = gs + g * (gw3 - getD(gu, e) - gs);
    setD(aw, e, a); setD(gw, e, ga);
    accumulate(a, ga, e);
    setD(au, e, getD(au, e) + al * a + be * w);
    setD(gu, e, getD(gu, e) + al * ga + be * gw3);
  }
  betaU += al * betaW;
  return quad(betaW);
}

/**
 * The W3 step (I + G) W3 = X^T (W1hat + U1) + (W2hat + U2) = G au + betaU d + u2, by CG from the
 * previous W3; then its image. `refresh` recomputes the carried gu = G au exactly.
 * Returns the CG steps taken.
 */
export function gramUpdateW3(u2: usize, w3: usize, maxCg: i32, cgTol: f32, refresh: bool): i32 {
  const n = rows, m = cols, nm = <usize>n * m, rhs = systemRhs();
  if (refresh) gemm64(gu, m, gramMatrix(), n, au, m, n, m, n);
  for (let e: usize = 0; e < nm; e++) setF(rhs, e, <f32>(getD(gu, e) + betaU * getD(d, e)) + getF(u2, e));
  memory.copy(g3Prev, g3, nm << 3);
  const steps = solveW3(w3, n, m, maxCg, cgTol, refresh);
  product32(g3, w3);
  return steps;
}

/** U1 -= Tnew = X W3, and the sums of updates.ts's updateDuals (quadA..quadD). */
export function gramUpdateDuals(w3: usize, w3Prev: usize): void {
  const nm = <usize>rows * cols;
  // four quadratic forms in one pass: their pieces side by side
  let pAG: f64 = 0, pAD: f64 = 0, sAG: f64 = 0, tAG: f64 = 0, uAG: f64 = 0, uAD: f64 = 0;
  for (let e: usize = 0; e < nm; e++) {
    const w = <f64>getF(w3, e), gw3 = getD(g3, e), de = getD(d, e);
    const a = getD(au, e) - w, ga = getD(gu, e) - gw3;
    setD(au, e, a); setD(gu, e, ga);
    const pa = getD(aw, e) - w, pg = getD(gw, e) - gw3;
    pAG += pa * pg; pAD += pa * de;
    sAG += (w - <f64>getF(w3Prev, e)) * (gw3 - getD(g3Prev, e));
    tAG += w * gw3;
    uAG += a * ga; uAD += a * de;
  }
  quadA = quadOf(pAG, pAD, betaW);
  quadB = quadOf(sAG, 0, 0);
  quadC = quadOf(tAG, 0, 0);
  quadD = quadOf(uAG, uAD, betaU);
}

/** Rescales the scaled dual U1 (rho changed). */
export function gramScaleDuals(s: f32): void {
  const nm = <usize>rows * cols, f = <f64>s;
  for (let e: usize = 0; e < nm; e++) { setD(au, e, getD(au, e) * f); setD(gu, e, getD(gu, e) * f); }
  betaU *= f;
}

/** ||X W - Y||^2 = ||X (W - W*) - R||^2 (one float64 N x N x M product). */
export function gramFitSq(w: usize): f64 {
  product32(image, w);
  const nm = <usize>rows * cols;
  resetSums();
  for (let e: usize = 0; e < nm; e++) accumulate(<f64>getF(w, e) - <f64>getF(wStar, e), getD(image, e) - getD(gStar, e), e);
  return quad(-1);
}

/**
 * The sample-form blocks the certificate reads (P x M each): U1 = X au + betaU R
 * = X (au - betaU W*) + betaU Y, and T = X W3.
 */
export function gramMaterialize(x: usize, y: usize, u1: usize, t: usize, w3: usize, n: i32, m: i32, p: i32): void {
  const pm = <usize>p * m, nm = <usize>n * m, bu = <f32>betaU, scratch = systemRhs();
  for (let e: usize = 0; e < nm; e++) setF(scratch, e, <f32>(getD(au, e) - betaU * <f64>getF(wStar, e)));
  gemm(u1, m, x, n, 1, scratch, m, p, m, n, false);
  for (let e: usize = 0; e < pm; e++) setF(u1, e, getF(u1, e) + bu * getF(y, e));
  gemm(t, m, x, n, 1, w3, m, p, m, n, false);
}

/** out = G a for a float32 block a (n x m), widened first. */
function product32(out: usize, a: usize): void {
  const nm = <usize>rows * cols;
  for (let e: usize = 0; e < nm; e++) setD(w64, e, <f64>getF(a, e));
  gemm64(out, cols, gramMatrix(), rows, w64, cols, rows, cols, rows);
}

function resetSums(): void {
  sumAG = 0; sumAD = 0;
}

// @ts-ignore: decorator
@inline function accumulate(a: f64, ga: f64, e: usize): void {
  sumAG += a * ga; sumAD += a * getD(d, e);
}

function quad(b: f64): f64 {
  return quadOf(sumAG, sumAD, b);
}

/** ||X A + b R||^2 from <A, G A> and <A, d>, never below 0 (rounding). */
function quadOf(ag: f64, ad: f64, b: f64): f64 {
  return Math.max(ag + 2 * b * ad + b * b * rr, 0);
}

// @ts-ignore: decorator
@inline function getD(p: usize, i: usize): f64 {
  return load<f64>(p + (i << 3));
}
// @ts-ignore: decorator
@inline function setD(p: usize, i: usize, v: f64): void {
  store<f64>(p + (i << 3), v);
}

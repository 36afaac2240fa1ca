// A lower bound on the layer program's optimum from the ADMM's dual (method.md section 8).
//
// Weak duality: for any L (P x M) with ||X^T L||_max <= 1 (over the penalised rows; a free row needs
// (X^T L) = 0 there), L >= 0 where bounded above and L <= 0 where bounded below, every feasible W has
//   ||W||_1 >= -<L, X W> >= -sup_{Z in C} <L, Z> = -(<L, Y>_Omega + eps ||L_Omega||_F + <L, V>_{Omega^c}).
// The first candidate is L = -rho U1 (U1 the scaled dual of the split W1 = X W3; at a fixed point -rho U1 is
// in the normal cone of C at W1). Its signs are clipped where a bound requires one, and since the bound
// b(L) is positively homogeneous, t L with t = 1 / ||X^T L||_max is the best multiple when b(L) > 0
// (t = 0, the trivial bound 0, otherwise). Everything is in the loop's c0-scaled units: X, Y, V and eps
// are scaled alike and W is not, so the bound on ||W||_1 is the same number.
import { getF, setF } from './memory';
import { gemm } from './gemm';

/**
 * The bound from the scaled dual u (P x M, overwritten with L), and from a second candidate built in
 * `scratch` (P x M): the same L with its ball part replaced by a multiple of (T - Y)_Omega, T = X W3
 * (at the optimum L_Omega is a positive multiple of (X W - Y)_Omega; the ADMM's T is often closer to
 * that direction than its dual). The larger of the two bounds is returned, >= 0. `xtl` (N x M) is
 * scratch for X^T L. `regions` as in updates.ts. freeRow < 0: none.
 */
export function dualBound(
  u: usize, t: usize, x: usize, y: usize, v: usize, regions: usize, xtl: usize, scratch: usize,
  n: i32, m: i32, p: i32, realP: i32, realM: i32, relu: bool, thr: f32, eps: f64, rho: f64, freeRow: i32,
): f64 {
  // L = -rho U1, with the signs the bounds require; padding stays 0
  let lBall: f64 = 0, dBall: f64 = 0;
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < m; j++) {
      const e = <usize>i * m + j;
      if (i >= realP || j >= realM) { setF(u, e, 0); continue; }
      let l = <f32>(-rho) * getF(u, e);
      const sign = regionSign(regions, y, e, relu, thr);
      if (sign > 0) l = max(l, <f32>0);
      else if (sign < 0) l = min(l, <f32>0);
      else {
        const d = getF(t, e) - getF(y, e);
        lBall += <f64>(l * l);
        dBall += <f64>(d * d);
      }
      setF(u, e, l);
    }
  }
  // the second candidate: ball entries c (T - Y), c matching the first candidate's norm there
  const c = <f32>(dBall > 0 ? Math.sqrt(lBall / dBall) : 0);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < m; j++) {
      const e = <usize>i * m + j;
      const inBall = i < realP && j < realM && regionSign(regions, y, e, relu, thr) == 0;
      setF(scratch, e, inBall ? c * (getF(t, e) - getF(y, e)) : getF(u, e));
    }
  }
  const first = boundOf(u, x, y, v, regions, xtl, n, m, p, realP, realM, relu, thr, eps, freeRow);
  const second = boundOf(scratch, x, y, v, regions, xtl, n, m, p, realP, realM, relu, thr, eps, freeRow);
  return Math.max(first, second);
}

/** b(L) / ||X^T L||_max for a multiplier L of the right signs (0 when b(L) <= 0); L may be centred in place. */
function boundOf(
  l: usize, x: usize, y: usize, v: usize, regions: usize, xtl: usize,
  n: i32, m: i32, p: i32, realP: i32, realM: i32, relu: bool, thr: f32, eps: f64, freeRow: i32,
): f64 {
  // a free row is the bias (a ones column of X): (X^T L) there is a column sum of L, made 0 by
  // moving the ball entries of each column by their mean (they carry no sign constraint)
  if (freeRow >= 0) centreBallEntries(l, y, regions, m, realP, realM, relu, thr);
  // b(L) = -(<L, Y>_Omega + eps ||L_Omega|| + <L, V>_{Omega^c})
  let inner: f64 = 0, ballSq: f64 = 0;
  for (let i = 0; i < realP; i++) {
    for (let j = 0; j < realM; j++) {
      const e = <usize>i * m + j, le = <f64>getF(l, e);
      if (regionSign(regions, y, e, relu, thr) == 0) {
        inner += le * <f64>getF(y, e);
        ballSq += le * le;
      } else if (v != 0) {
        inner += le * <f64>getF(v, e);
      }
    }
  }
  const value = -(inner + eps * Math.sqrt(ballSq));
  if (!(value > 0)) return 0;
  gemm(xtl, m, x, 1, n, l, m, n, m, p, false); // X^T L
  let largest: f64 = 0;
  for (let r = 0; r < n; r++) {
    if (r == freeRow) continue;
    for (let j = 0; j < realM; j++) largest = Math.max(largest, Math.abs(<f64>getF(xtl, <usize>r * m + j)));
  }
  return largest > 0 ? value / largest : 0;
}

/** 0 in the ball, +1 bounded above, -1 bounded below (linear layers: always 0). */
// @ts-ignore: decorator
@inline function regionSign(regions: usize, y: usize, e: usize, relu: bool, thr: f32): f32 {
  if (!relu) return 0;
  if (regions != 0) return getF(regions, e);
  return getF(y, e) > thr ? 0 : 1;
}

/** Per column, subtracts from L's ball entries the column sum of L over their count. */
function centreBallEntries(u: usize, y: usize, regions: usize, m: i32, realP: i32, realM: i32, relu: bool, thr: f32): void {
  for (let j = 0; j < realM; j++) {
    let sum: f64 = 0, count = 0;
    for (let i = 0; i < realP; i++) {
      const e = <usize>i * m + j;
      sum += <f64>getF(u, e);
      if (regionSign(regions, y, e, relu, thr) == 0) count++;
    }
    if (count == 0) {
      // no ball entry to move: this column of L must go (L = 0 there is always allowed)
      for (let i = 0; i < realP; i++) setF(u, <usize>i * m + j, 0);
      continue;
    }
    const shift = <f32>(sum / count);
    for (let i = 0; i < realP; i++) {
      const e = <usize>i * m + j;
      if (regionSign(regions, y, e, relu, thr) == 0) setF(u, e, getF(u, e) - shift);
    }
  }
}

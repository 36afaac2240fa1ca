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
import { arenaAllocF32, getF, setF } from './memory';
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

/**
 * The best bound from multiples of the columns of L: every t L diag(t_m) with 0 <= t_m <= 1 / max_r
 * |(X^T L)_{r,m}| is dual feasible, and its value sum_m t_m a_m - eps sqrt(sum_m t_m^2 q_m)
 * (a_m = -<L_m, Y_m>_Omega - <L_m, V_m>_{Omega^c}, q_m = ||L_m||^2 on Omega) is concave in t: one
 * outlier column of X^T L then no longer shrinks the whole multiplier. L may be centred in place.
 */
function boundOf(
  l: usize, x: usize, y: usize, v: usize, regions: usize, xtl: usize,
  n: i32, m: i32, p: i32, realP: i32, realM: i32, relu: bool, thr: f32, eps: f64, freeRow: i32,
): f64 {
  // a free row is the bias (a ones column of X): (X^T L) there is a column sum of L, made 0 by
  // moving the ball entries of each column by their mean (they carry no sign constraint)
  if (freeRow >= 0) centreBallEntries(l, y, regions, m, realP, realM, relu, thr);
  const cols = arenaAllocF32(<usize>m * 6); // three f64 per column: a_m, q_m, the cap of t_m
  if (cols == 0) return 0;
  for (let i = 0; i < realP; i++) {
    for (let j = 0; j < realM; j++) {
      const e = <usize>i * m + j, le = <f64>getF(l, e), at = cols + (<usize>j << 3);
      if (regionSign(regions, y, e, relu, thr) == 0) {
        store<f64>(at, load<f64>(at) - le * <f64>getF(y, e));
        store<f64>(at + (<usize>m << 3), load<f64>(at + (<usize>m << 3)) + le * le);
      } else if (v != 0) {
        store<f64>(at, load<f64>(at) - le * <f64>getF(v, e));
      }
    }
  }
  gemm(xtl, m, x, 1, n, l, m, n, m, p, false); // X^T L
  let largest: f64 = 0;
  for (let j = 0; j < realM; j++) {
    let colMax: f64 = 0;
    for (let r = 0; r < n; r++) if (r != freeRow) colMax = Math.max(colMax, Math.abs(<f64>getF(xtl, <usize>r * m + j)));
    store<f64>(cols + ((<usize>(2 * m + j)) << 3), colMax > 0 ? 1 / colMax : 0);
    largest = Math.max(largest, colMax);
  }
  // one scale for all columns (the plain bound), then the per-column scales by a fixed point on
  // R = sqrt(sum t_m^2 q_m): for fixed R the best t_m is clamp(a_m R / (eps q_m), 0, cap_m)
  const single = largest > 0 ? columnsValue(cols, m, realM, eps, 1 / largest, true, 0) : 0;
  let best = single, radius = columnsRadius(cols, m, realM, eps, 0, true);
  for (let k = 0; k < 30; k++) {
    best = Math.max(best, columnsValue(cols, m, realM, eps, 0, false, radius));
    radius = columnsRadius(cols, m, realM, eps, radius, false);
  }
  return Math.max(best, 0);
}

/** t_m: the common scale when `uniform`, else clamp(a_m R / (eps q_m), 0, cap_m) (cap_m when eps q_m = 0 and a_m > 0). */
// @ts-ignore: decorator
@inline function columnScale(cols: usize, m: i32, j: i32, eps: f64, common: f64, uniform: bool, radius: f64): f64 {
  if (uniform) return common;
  const a = load<f64>(cols + (<usize>j << 3)), q = load<f64>(cols + (<usize>(m + j) << 3));
  const cap = load<f64>(cols + (<usize>(2 * m + j) << 3));
  if (!(a > 0)) return 0;
  const d = eps * q;
  return d > 0 ? Math.min(cap, a * radius / d) : cap;
}

function columnsValue(cols: usize, m: i32, realM: i32, eps: f64, common: f64, uniform: bool, radius: f64): f64 {
  let linear: f64 = 0, sq: f64 = 0;
  for (let j = 0; j < realM; j++) {
    const t = columnScale(cols, m, j, eps, common, uniform, radius);
    linear += t * load<f64>(cols + (<usize>j << 3));
    sq += t * t * load<f64>(cols + (<usize>(m + j) << 3));
  }
  return linear - eps * Math.sqrt(sq);
}

/** R = sqrt(sum t_m^2 q_m) at the scales of the given radius (caps alone when `capsOnly`). */
function columnsRadius(cols: usize, m: i32, realM: i32, eps: f64, radius: f64, capsOnly: bool): f64 {
  let sq: f64 = 0;
  for (let j = 0; j < realM; j++) {
    const cap = load<f64>(cols + (<usize>(2 * m + j) << 3));
    const t = capsOnly ? (load<f64>(cols + (<usize>j << 3)) > 0 ? cap : 0) : columnScale(cols, m, j, eps, 0, false, radius);
    sq += t * t * load<f64>(cols + (<usize>(m + j) << 3));
  }
  return Math.sqrt(sq);
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

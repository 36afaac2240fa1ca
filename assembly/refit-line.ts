// The exact line search of the soft refit (refit-ncg.ts), every output neuron (column) at once.
// Along a direction D with A = X D carried beside Z = X W, each column's objective
//   phi_j(t) = 1/2 sum_fitted (z + t a - y)^2 + 1/2 sum_bounded max(0, k (z + t a - v))^2
// is a convex piecewise quadratic in t: one pass over the P x m entries gives phi, phi' and the
// right second derivative phi'' at every column's own t. Safeguarded Newton inside a bracket (phi' < 0
// at lo, > 0 at hi; bisection when Newton leaves it) ends at the kink-free minimum in 1-2 steps once
// the active sets settle; the step kept is the evaluated t with the least phi, so no step raises f.
import { getF, setF } from './memory';

/** Passes over the entries at most (the first at t = 0). */
const PASSES: i32 = 8;
/** A column's search ends when |phi'(t)| is below this fraction of |phi'(0)|. */
const FLAT: f64 = 1e-3;

// Per-column f64 scratch: LINE_FIELDS values per column, reserved by the caller (lineScratchBytes).
const T: i32 = 0, LO: i32 = 1, HI: i32 = 2, D1: i32 = 3, D2: i32 = 4, PHI: i32 = 5;
const BEST_T: i32 = 6, BEST_PHI: i32 = 7, D1_START: i32 = 8, OPEN: i32 = 9;
const LINE_FIELDS: i32 = 10;

/** Samples per block of f32 partial sums (then folded into f64). */
const BLOCK: i32 = 64;
// f32 workspace after the f64 scratch: the columns' t, then three m-vectors of partial sums
let tees: usize = 0, sums: usize = 0;

/** Bytes of the scratch lineSearch needs for m columns (m a multiple of 4). */
export function lineScratchBytes(m: i32): usize {
  return <usize>m * LINE_FIELDS * 8 + <usize>m * 16;
}

// @ts-ignore: decorator
@inline function at(scratch: usize, j: i32, k: i32): usize {
  return scratch + ((<usize>j * LINE_FIELDS + k) << 3);
}

/**
 * Writes into steps[j] (f64) the step along column j of the direction, for the columns with
 * searching[j] != 0 (f64 flags; the others get 0). Returns the passes made.
 */
export function lineSearch(
  z: usize, a: usize, y: usize, v: usize, kind: usize, p: i32, m: i32, searching: usize, steps: usize, scratch: usize,
): i32 {
  tees = scratch + <usize>m * LINE_FIELDS * 8;
  sums = tees + (<usize>m << 2);
  let open = 0;
  for (let j = 0; j < m; j++) {
    const on = load<f64>(searching + (<usize>j << 3)) != 0;
    store<f64>(at(scratch, j, T), 0);
    store<f64>(at(scratch, j, LO), 0);
    store<f64>(at(scratch, j, HI), Infinity);
    store<f64>(at(scratch, j, BEST_T), 0);
    store<f64>(at(scratch, j, OPEN), on ? 1 : 0);
    if (on) open++;
  }
  let passes = 0;
  while (open > 0 && passes < PASSES) {
    evaluate(z, a, y, v, kind, p, m, scratch);
    open = 0;
    for (let j = 0; j < m; j++) {
      if (load<f64>(at(scratch, j, OPEN)) == 0) continue;
      if (nextTrial(scratch, j, passes == 0)) open++;
      else store<f64>(at(scratch, j, OPEN), 0);
    }
    passes++;
  }
  for (let j = 0; j < m; j++) store<f64>(steps + (<usize>j << 3), load<f64>(at(scratch, j, BEST_T)));
  return passes;
}

/**
 * One column's bookkeeping after a pass at its t: keeps the best point, narrows the bracket and
 * sets the next t (Newton, or the bracket's middle). False when the search is over.
 */
function nextTrial(scratch: usize, j: i32, first: bool): bool {
  const t = load<f64>(at(scratch, j, T)), d1 = load<f64>(at(scratch, j, D1)), d2 = load<f64>(at(scratch, j, D2));
  const phi = load<f64>(at(scratch, j, PHI));
  if (first) {
    store<f64>(at(scratch, j, D1_START), d1);
    store<f64>(at(scratch, j, BEST_PHI), phi);
    if (!(d1 < 0)) return false; // not a descent direction: no step
  } else if (phi < load<f64>(at(scratch, j, BEST_PHI))) {
    store<f64>(at(scratch, j, BEST_PHI), phi);
    store<f64>(at(scratch, j, BEST_T), t);
  }
  if (Math.abs(d1) <= FLAT * Math.abs(load<f64>(at(scratch, j, D1_START)))) return false;
  let lo = load<f64>(at(scratch, j, LO)), hi = load<f64>(at(scratch, j, HI));
  if (d1 < 0) lo = t;
  else hi = t;
  store<f64>(at(scratch, j, LO), lo);
  store<f64>(at(scratch, j, HI), hi);
  let next = d2 > 0 ? t - d1 / d2 : Infinity;
  if (!(next > lo && next < hi)) {
    if (hi == Infinity) return false; // no curvature ahead and no bracket: the best point stands
    next = 0.5 * (lo + hi);
  }
  if (next == t) return false;
  store<f64>(at(scratch, j, T), next);
  return true;
}

/**
 * phi, phi' and phi'' (from the right) of every column at its own t (open or not: computing a closed
 * column costs less than testing for it), in one pass over the entries: SIMD across columns, f32
 * partial sums over blocks of BLOCK samples folded into the f64 scratch.
 */
function evaluate(z: usize, a: usize, y: usize, v: usize, kind: usize, p: i32, m: i32, scratch: usize): void {
  for (let j = 0; j < m; j++) {
    store<f64>(at(scratch, j, D1), 0);
    store<f64>(at(scratch, j, D2), 0);
    store<f64>(at(scratch, j, PHI), 0);
    setF(tees, j, <f32>load<f64>(at(scratch, j, T)));
  }
  for (let s0 = 0; s0 < p; s0 += BLOCK) {
    memory.fill(sums, 0, (<usize>m * 3) << 2);
    const end = min(p, s0 + BLOCK);
    for (let s = s0; s < end; s++) accumulateRow(z, a, y, v, kind, <usize>s * m, m);
    for (let j = 0; j < m; j++) {
      store<f64>(at(scratch, j, D1), load<f64>(at(scratch, j, D1)) + <f64>getF(sums, j));
      store<f64>(at(scratch, j, D2), load<f64>(at(scratch, j, D2)) + <f64>getF(sums, <usize>m + j));
      store<f64>(at(scratch, j, PHI), load<f64>(at(scratch, j, PHI)) + <f64>getF(sums, <usize>(m << 1) + j));
    }
  }
}

/** Adds one sample's (row's) terms to the f32 sums: phi' at [0, m), phi'' at [m, 2m), phi at [2m, 3m). */
// @ts-ignore: decorator
@inline function accumulateRow(z: usize, a: usize, y: usize, v: usize, kind: usize, row: usize, m: i32): void {
  const d1s = sums, d2s = sums + (<usize>m << 2), phis = sums + (<usize>m << 3);
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0), half = f32x4.splat(0.5);
    for (let j = 0; j < m; j += 4) {
      const o = (row + <usize>j) << 2, c = <usize>j << 2;
      const da = v128.load(a + o), k = v128.load(kind + o);
      const zt = f32x4.add(v128.load(z + o), f32x4.mul(v128.load(tees + c), da));
      const fitted = f32x4.eq(k, zero);
      // fitted: res = zt - y; bounded: h = k (zt - v), counted where h > 0 or (h == 0 and k a > 0)
      const res = f32x4.sub(zt, v128.load(y + o)), h = f32x4.mul(k, f32x4.sub(zt, v128.load(v + o)));
      const on = v128.or(fitted, v128.or(f32x4.gt(h, zero), v128.and(f32x4.eq(h, zero), f32x4.gt(f32x4.mul(k, da), zero))));
      const e = v128.and(v128.bitselect(res, h, fitted), on); // the residual counted (0 where off)
      const slope = v128.bitselect(da, f32x4.mul(k, da), fitted); // d e / dt
      v128.store(d1s + c, f32x4.add(v128.load(d1s + c), f32x4.mul(slope, e)));
      v128.store(d2s + c, f32x4.add(v128.load(d2s + c), v128.and(f32x4.mul(da, da), on)));
      v128.store(phis + c, f32x4.add(v128.load(phis + c), f32x4.mul(half, f32x4.mul(e, e))));
    }
    return;
  }
  for (let j = 0; j < m; j++) {
    const e = row + <usize>j;
    const da = getF(a, e), k = getF(kind, e), zt = getF(z, e) + getF(tees, j) * da;
    let r: f32 = 0, slope: f32 = 0, curve: f32 = 0;
    if (k == 0) { r = zt - getF(y, e); slope = da; curve = da * da; }
    else {
      const h = k * (zt - getF(v, e));
      if (h > 0 || (h == 0 && k * da > 0)) { r = h; slope = k * da; curve = da * da; }
    }
    setF(d1s, j, getF(d1s, j) + slope * r);
    setF(d2s, j, getF(d2s, j) + curve);
    setF(phis, j, getF(phis, j) + 0.5 * r * r);
  }
}

// The element-wise steps of one ADMM iteration (method.md section 3), each one pass over memory.
// P x M blocks are stored sample-major (row p holds the M outputs of sample p), like the inputs.
import { getF, setF } from './memory';
import { madd, hsum } from './simd';

// Sums a pass gathers on its way, for the residuals and their tolerances. Module globals, not an
// object: the stub runtime's allocator would share the heap with the arena.
export let sumA: f64 = 0;
export let sumB: f64 = 0;
export let sumC: f64 = 0;
export let sumD: f64 = 0;

function resetSums(): void {
  sumA = 0; sumB = 0; sumC = 0; sumD = 0;
}

// Passes accumulate in f32 lanes for CHUNK entries, then add into f64, so long sums keep digits.
const CHUNK: usize = 1024;

// Entry regions. Without a region array (s == 0), Omega = {Y > threshold} for ReLU layers (every
// entry for linear ones) and the rest is bounded above by V. With one, s holds a sign per entry:
// 0 = in the ball (Omega), +1 = bounded above (z <= V), -1 = bounded below (z >= V).
// The bound is then V + s min(s (z - V), 0): min(z, V) for s = +1, max(z, V) for s = -1.

/**
 * ||(Z - Y)_Omega||_F^2 with Z = T - U1: the distance the projection onto the epsilon ball needs.
 * Omega = {Y > threshold} (or {s = 0} with regions) for ReLU layers, every entry for linear ones.
 */
export function activeDistanceSq(t: usize, u: usize, y: usize, s: usize, count: usize, relu: bool, thr: f32): f64 {
  let total: f64 = 0;
  if (ASC_FEATURE_SIMD) {
    const vthr = f32x4.splat(thr), zero = f32x4.splat(0);
    for (let e0: usize = 0; e0 < count; e0 += CHUNK) {
      const e1 = min(e0 + CHUNK, count);
      let acc = f32x4.splat(0);
      for (let e = e0; e < e1; e += 4) {
        const o = e << 2, yv = v128.load(y + o);
        let d = f32x4.sub(f32x4.sub(v128.load(t + o), v128.load(u + o)), yv);
        if (relu) d = v128.and(d, s == 0 ? f32x4.gt(yv, vthr) : f32x4.eq(v128.load(s + o), zero));
        acc = madd(d, d, acc);
      }
      total += hsum(acc);
    }
  } else {
    for (let e: usize = 0; e < count; e++) {
      const yv = getF(y, e);
      if (relu && !inBall(s, e, yv, thr)) continue;
      const d = getF(t, e) - getF(u, e) - yv;
      total += <f64>(d * d);
    }
  }
  return total;
}

/** Whether entry e is in Omega (ReLU-like layers; scalar paths). */
// @ts-ignore: decorator
@inline function inBall(s: usize, e: usize, yv: f32, thr: f32): bool {
  return s == 0 ? yv > thr : getF(s, e) == 0;
}

/** The bound of a bounded entry: min(z, V) above (s = +1, or no regions), max(z, V) below (s = -1). */
// @ts-ignore: decorator
@inline function clampToBound(s: usize, e: usize, z: f32, cap: f32): f32 {
  if (s == 0) return min(z, cap);
  const sign = getF(s, e);
  return cap + sign * min(sign * (z - cap), <f32>0);
}

/**
 * W1 = project(T - U1): on Omega, Y + gain (Z - Y) (gain < 1 pulls Z into the epsilon ball);
 * on Omega^c, min(Z, V) for ReLU layers (max(Z, V) on lower-bounded entries). Then the relaxed copy alpha W1 + (1 - alpha) T is added
 * into U1, which from here on holds W1hat + U1, the right-hand side of the W3 step.
 * Returns ||W1||^2.
 */
export function updateW1(
  w1: usize, t: usize, u: usize, y: usize, v: usize, s: usize, count: usize,
  relu: bool, thr: f32, gain: f32, alpha: f32,
): f64 {
  let total: f64 = 0;
  const beta: f32 = 1 - alpha;
  if (ASC_FEATURE_SIMD) {
    const vthr = f32x4.splat(thr), vg = f32x4.splat(gain), va = f32x4.splat(alpha), vb = f32x4.splat(beta);
    const zero = f32x4.splat(0);
    for (let e0: usize = 0; e0 < count; e0 += CHUNK) {
      const e1 = min(e0 + CHUNK, count);
      let acc = f32x4.splat(0);
      for (let e = e0; e < e1; e += 4) {
        const o = e << 2;
        const tv = v128.load(t + o), uv = v128.load(u + o), yv = v128.load(y + o);
        const z = f32x4.sub(tv, uv);
        let w = madd(vg, f32x4.sub(z, yv), yv);
        if (relu) {
          const cap = v == 0 ? zero : v128.load(v + o);
          if (s == 0) {
            w = v128.bitselect(w, f32x4.min(z, cap), f32x4.gt(yv, vthr));
          } else {
            const sv = v128.load(s + o);
            const bound = madd(sv, f32x4.min(f32x4.mul(sv, f32x4.sub(z, cap)), zero), cap);
            w = v128.bitselect(w, bound, f32x4.eq(sv, zero));
          }
        }
        v128.store(w1 + o, w);
        acc = madd(w, w, acc);
        v128.store(u + o, f32x4.add(uv, madd(va, w, f32x4.mul(vb, tv))));
      }
      total += hsum(acc);
    }
  } else {
    for (let e: usize = 0; e < count; e++) {
      const tv = getF(t, e), uv = getF(u, e), yv = getF(y, e), z = tv - uv;
      let w: f32;
      if (!relu || inBall(s, e, yv, thr)) w = yv + gain * (z - yv);
      else w = clampToBound(s, e, z, v == 0 ? <f32>0 : getF(v, e));
      setF(w1, e, w);
      total += <f64>(w * w);
      setF(u, e, uv + alpha * w + beta * tv);
    }
  }
  return total;
}

/**
 * W2 = soft_threshold(W3 - U2, 1 / rho), then U2 += alpha W2 + (1 - alpha) W3 (the relaxed copy),
 * so U2 holds the second right-hand side block. Returns ||W2||^2.
 */
export function updateW2(w2: usize, w3: usize, u2: usize, count: usize, kappa: f32, alpha: f32): f64 {
  let total: f64 = 0;
  const beta: f32 = 1 - alpha;
  // soft_threshold(a, k) = a - clamp(a, -k, k): branch-free, the same in both forms
  if (ASC_FEATURE_SIMD) {
    const vk = f32x4.splat(kappa), vnk = f32x4.splat(-kappa), va = f32x4.splat(alpha), vb = f32x4.splat(beta);
    for (let e0: usize = 0; e0 < count; e0 += CHUNK) {
      const e1 = min(e0 + CHUNK, count);
      let acc = f32x4.splat(0);
      for (let e = e0; e < e1; e += 4) {
        const o = e << 2, w3v = v128.load(w3 + o), uv = v128.load(u2 + o), a = f32x4.sub(w3v, uv);
        const w = f32x4.sub(a, f32x4.min(f32x4.max(a, vnk), vk));
        v128.store(w2 + o, w);
        acc = madd(w, w, acc);
        v128.store(u2 + o, f32x4.add(uv, madd(va, w, f32x4.mul(vb, w3v))));
      }
      total += hsum(acc);
    }
    return total;
  }
  for (let e: usize = 0; e < count; e++) {
    const w3v = getF(w3, e), uv = getF(u2, e), a = w3v - uv;
    const w = a - min(max(a, -kappa), kappa);
    setF(w2, e, w);
    total += <f64>(w * w);
    setF(u2, e, uv + alpha * w + beta * w3v);
  }
  return total;
}

/**
 * After the W3 step and Tnew = W3^T X: the dual update U1 = (W1hat + U1) - Tnew in place, with
 * the sums the residuals need, all in one pass over the P x M blocks:
 * sumA = ||W1 - Tnew||^2 (primal), sumB = ||Tnew - Told||^2 (dual), sumC = ||Tnew||^2, sumD = ||U1||^2.
 */
export function updateDualsSamples(w1: usize, tNew: usize, tOld: usize, u: usize, count: usize): void {
  updateDuals(w1, tNew, tOld, u, count);
}

/**
 * The same for the N x M block: U2 = (W2hat + U2) - W3;
 * sumA = ||W2 - W3||^2, sumB = ||W3 - W3prev||^2, sumC = ||W3||^2, sumD = ||U2||^2.
 */
export function updateDualsWeights(w2: usize, w3: usize, w3Prev: usize, u2: usize, count: usize): void {
  updateDuals(w2, w3, w3Prev, u2, count);
}

/** u = u - now, with sumA = ||copy - now||^2, sumB = ||now - before||^2, sumC = ||now||^2, sumD = ||u||^2. */
function updateDuals(copy: usize, now: usize, before: usize, u: usize, count: usize): void {
  resetSums();
  if (ASC_FEATURE_SIMD) {
    for (let e0: usize = 0; e0 < count; e0 += CHUNK) {
      const e1 = min(e0 + CHUNK, count);
      let pa = f32x4.splat(0), pb = f32x4.splat(0), pc = f32x4.splat(0), pd = f32x4.splat(0);
      for (let e = e0; e < e1; e += 4) {
        const o = e << 2, tn = v128.load(now + o);
        const r = f32x4.sub(v128.load(copy + o), tn), s = f32x4.sub(tn, v128.load(before + o));
        const un = f32x4.sub(v128.load(u + o), tn);
        v128.store(u + o, un);
        pa = madd(r, r, pa); pb = madd(s, s, pb); pc = madd(tn, tn, pc); pd = madd(un, un, pd);
      }
      sumA += hsum(pa); sumB += hsum(pb); sumC += hsum(pc); sumD += hsum(pd);
    }
    return;
  }
  for (let e: usize = 0; e < count; e++) {
    const tn = getF(now, e), r = getF(copy, e) - tn, s = tn - getF(before, e), un = getF(u, e) - tn;
    setF(u, e, un);
    sumA += <f64>(r * r); sumB += <f64>(s * s); sumC += <f64>(tn * tn); sumD += <f64>(un * un);
  }
}

/** a *= s over count entries (the rescaling of the scaled duals when rho changes). */
export function scaleInPlace(a: usize, count: usize, s: f32): void {
  if (ASC_FEATURE_SIMD) {
    const vs = f32x4.splat(s);
    for (let e: usize = 0; e < count; e += 4) v128.store(a + (e << 2), f32x4.mul(v128.load(a + (e << 2)), vs));
  } else {
    for (let e: usize = 0; e < count; e++) setF(a, e, getF(a, e) * s);
  }
}

/**
 * Quality of the returned weights, from T = W^T X over the real rows x cols of blocks with leading
 * dimension ld (padding excluded): sumA = ||(T - Y)_Omega||^2,
 * sumC = the largest bound violation over Omega^c, T - V above and V - T below (ReLU layers,
 * -Infinity when Omega^c is empty), sumD = max |Y|.
 */
export function measureFit(
  t: usize, y: usize, v: usize, s: usize, rows: i32, cols: i32, ld: i32, relu: bool, thr: f32,
): void {
  resetSums();
  let worst: f32 = -Infinity, ymax: f32 = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const e = <usize>i * ld + j, tv = getF(t, e), yv = getF(y, e);
      ymax = max(ymax, abs(yv));
      if (!relu || inBall(s, e, yv, thr)) {
        const d = tv - yv;
        sumA += <f64>(d * d);
      } else {
        const over = tv - (v == 0 ? <f32>0 : getF(v, e));
        worst = max(worst, s == 0 ? over : getF(s, e) * over);
      }
    }
  }
  sumC = relu ? <f64>worst : -Infinity;
  sumD = <f64>ymax;
}

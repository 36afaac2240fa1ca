// The entry-wise passes of the soft refit's nonlinear CG (refit-ncg.ts), each with per-column sums:
// SIMD across the columns (m a multiple of 4), f32 partial sums over blocks of BLOCK rows folded into
// f64 (so long sums keep their digits), as refit-line.ts does for the line search.
import { getF, setF } from './memory';

const BLOCK: i32 = 64;

// Three f32 m-vectors of partial sums, reserved by the caller (passScratchBytes) and set by usePassScratch.
let sums: usize = 0;

export function passScratchBytes(m: i32): usize {
  return (<usize>m * 3) << 2;
}

export function usePassScratch(at: usize): void {
  sums = at;
}

/** out[j] += partial sums k (k-th m-vector), f64 outputs `stride` bytes apart. */
function fold(out: usize, stride: usize, k: i32, m: i32): void {
  const from = sums + ((<usize>k * m) << 2);
  for (let j = 0; j < m; j++) store<f64>(out + <usize>j * stride, load<f64>(out + <usize>j * stride) + <f64>getF(from, j));
}

/**
 * R = z - y on fitted entries (kind 0), kind max(0, kind (z - v)) on bounded ones (the objective's
 * gradient in Z); adds 1/2 ||R_j||^2 to f64 out[j] (stride bytes apart).
 */
export function residualPass(r: usize, z: usize, y: usize, v: usize, kind: usize, p: i32, m: i32, out: usize, stride: usize): void {
  for (let s0 = 0; s0 < p; s0 += BLOCK) {
    memory.fill(sums, 0, <usize>m << 2);
    const end = min(p, s0 + BLOCK);
    for (let s = s0; s < end; s++) {
      const row = <usize>s * m;
      if (ASC_FEATURE_SIMD) {
        const zero = f32x4.splat(0), half = f32x4.splat(0.5);
        for (let j = 0; j < m; j += 4) {
          const o = (row + <usize>j) << 2, c = <usize>j << 2;
          const k = v128.load(kind + o), q = v128.load(z + o);
          const hinge = f32x4.mul(k, f32x4.max(zero, f32x4.mul(k, f32x4.sub(q, v128.load(v + o)))));
          const res = v128.bitselect(f32x4.sub(q, v128.load(y + o)), hinge, f32x4.eq(k, zero));
          v128.store(r + o, res);
          v128.store(sums + c, f32x4.add(v128.load(sums + c), f32x4.mul(half, f32x4.mul(res, res))));
        }
        continue;
      }
      for (let j = 0; j < m; j++) {
        const e = row + <usize>j, k = getF(kind, e), q = getF(z, e);
        const res: f32 = k == 0 ? q - getF(y, e) : k * max<f32>(0, k * (q - getF(v, e)));
        setF(r, e, res);
        setF(sums, j, getF(sums, j) + 0.5 * res * res);
      }
    }
    fold(out, stride, 0, m);
  }
}

/**
 * grad = mask * grad; s = hinv * grad (hinv n x m, or one value per row when `shared`); adds g.s to
 * gs[j] and g.sPrev to cross[j] (f64, stride bytes apart).
 */
export function preconditionPass(
  grad: usize, s: usize, sPrev: usize, mask: usize, hinv: usize, shared: bool, n: i32, m: i32, gs: usize, cross: usize, stride: usize,
): void {
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    memory.fill(sums, 0, (<usize>m << 1) << 2);
    const end = min(n, i0 + BLOCK);
    const gsums = sums, xsums = sums + (<usize>m << 2);
    for (let i = i0; i < end; i++) {
      const row = <usize>i * m;
      if (ASC_FEATURE_SIMD) {
        const hrow = f32x4.splat(shared ? getF(hinv, i) : 0);
        for (let j = 0; j < m; j += 4) {
          const o = (row + <usize>j) << 2, c = <usize>j << 2;
          const g = f32x4.mul(v128.load(grad + o), v128.load(mask + o));
          const q = f32x4.mul(shared ? hrow : v128.load(hinv + o), g);
          v128.store(grad + o, g);
          v128.store(s + o, q);
          v128.store(gsums + c, f32x4.add(v128.load(gsums + c), f32x4.mul(g, q)));
          v128.store(xsums + c, f32x4.add(v128.load(xsums + c), f32x4.mul(g, v128.load(sPrev + o))));
        }
        continue;
      }
      for (let j = 0; j < m; j++) {
        const e = row + <usize>j;
        const g = getF(grad, e) * getF(mask, e), q = (shared ? getF(hinv, i) : getF(hinv, e)) * g;
        setF(grad, e, g);
        setF(s, e, q);
        setF(gsums, j, getF(gsums, j) + g * q);
        setF(xsums, j, getF(xsums, j) + g * getF(sPrev, e));
      }
    }
    fold(gs, stride, 0, m);
    fold(cross, stride, 1, m);
  }
}

/**
 * dir = beta dir - s per column (beta f32 per column; beta < 0: the column stays still, dir = 0);
 * adds dir.grad to slope[j] (f64, stride bytes apart).
 */
export function directionPass(dir: usize, s: usize, grad: usize, beta: usize, n: i32, m: i32, slope: usize, stride: usize): void {
  for (let i0 = 0; i0 < n; i0 += BLOCK) {
    memory.fill(sums, 0, <usize>m << 2);
    const end = min(n, i0 + BLOCK);
    for (let i = i0; i < end; i++) {
      const row = <usize>i * m;
      if (ASC_FEATURE_SIMD) {
        const zero = f32x4.splat(0);
        for (let j = 0; j < m; j += 4) {
          const o = (row + <usize>j) << 2, c = <usize>j << 2;
          const b = v128.load(beta + c);
          const d = v128.andnot(f32x4.sub(f32x4.mul(b, v128.load(dir + o)), v128.load(s + o)), f32x4.lt(b, zero));
          v128.store(dir + o, d);
          v128.store(sums + c, f32x4.add(v128.load(sums + c), f32x4.mul(d, v128.load(grad + o))));
        }
        continue;
      }
      for (let j = 0; j < m; j++) {
        const e = row + <usize>j, b = getF(beta, j);
        const d: f32 = b < 0 ? 0 : b * getF(dir, e) - getF(s, e);
        setF(dir, e, d);
        setF(sums, j, getF(sums, j) + d * getF(grad, e));
      }
    }
    fold(slope, stride, 0, m);
  }
}

// Anderson acceleration of the ADMM's fixed-point map (type II, with a safeguard, after SCS 3,
// O'Donoghue 2021; Zhang, O'Donoghue and Boyd 2020). The state entering an iteration is
// s = (W3, T = X W3, U1, U2); one iteration maps it to F(s). With the last DEPTH differences
// of states (dS) and of residuals g = F(s) - s (dG), the next state is
//   F(s_k) - (dS + dG) gamma,   gamma = argmin || g_k - dG gamma ||,
// a linear combination of past states, so T = X W3 still holds. Safeguard: when the iteration
// from an extrapolated state leaves a larger residual than the plain step it replaced, the plain
// step F(s_k) is restored and the history forgotten. The sample form only (its four blocks).
import { arenaAllocF32, getF, setF } from './memory';

const DEPTH: i32 = 5;
// Tikhonov term of the small least-squares problem, relative to the largest diagonal entry.
const REGULARIZATION: f64 = 1e-8;
// Reject an extrapolated state whose residual grows past this times the plain step's.
const SAFEGUARD: f64 = 1;

let nm: usize = 0, pm: usize = 0, size: usize = 0;
// contiguous state vectors [W3 | T | U1 | U2]: the state at the iteration's start, the previous
// one and its residual, the last plain step F(s) (kept while an extrapolation is on trial)
let start: usize = 0, prevState: usize = 0, prevResidual: usize = 0, plain: usize = 0, residual: usize = 0;
let dS: usize = 0, dG: usize = 0; // DEPTH columns each
let gram: usize = 0, rhsVec: usize = 0; // DEPTH x DEPTH and DEPTH float64
let stored: i32 = 0, next: i32 = 0, havePrev = false, onTrial = false;
let trialLimit: f64 = 0;
/** Steps extrapolated and rejected (for the bench). */
export let accepted: i32 = 0;
export let rejected: i32 = 0;

/** Reserves the history for an n x m layer with p samples; false when memory cannot grow. */
export function andersonReserve(n: i32, m: i32, p: i32): bool {
  nm = <usize>n * m; pm = <usize>p * m; size = 2 * nm + 2 * pm;
  start = arenaAllocF32(size); prevState = arenaAllocF32(size); prevResidual = arenaAllocF32(size);
  plain = arenaAllocF32(size); residual = arenaAllocF32(size);
  dS = arenaAllocF32(size * DEPTH); dG = arenaAllocF32(size * DEPTH);
  gram = arenaAllocF32(2 * DEPTH * DEPTH); rhsVec = arenaAllocF32(2 * DEPTH);
  andersonReset();
  accepted = 0; rejected = 0;
  return rhsVec != 0;
}

/** Forgets the history (rho changed: the scaled duals moved). */
export function andersonReset(): void {
  stored = 0; next = 0; havePrev = false; onTrial = false;
}

/** Keeps the state entering an iteration. */
export function andersonBegin(w3: usize, t: usize, u1: usize, u2: usize): void {
  gather(start, w3, t, u1, u2);
}

/**
 * After an iteration: its result F(s) is in the blocks. Writes the extrapolated state into them
 * (returns true: CG's carried product must be refreshed) or leaves F(s) (returns false).
 */
export function andersonEnd(w3: usize, t: usize, u1: usize, u2: usize): bool {
  gather(plain, w3, t, u1, u2);
  let gSq: f64 = 0;
  for (let e: usize = 0; e < size; e++) {
    const g = getF(plain, e) - getF(start, e);
    setF(residual, e, g);
    gSq += <f64>g * <f64>g;
  }
  if (onTrial) {
    onTrial = false;
    // a failed trial: F(s) from the extrapolated state stands as a plain step (F is nonexpansive,
    // so nothing diverges), and the history restarts from it
    if (gSq > trialLimit) { rejected++; andersonReset(); } else accepted++;
  }
  if (havePrev) {
    const col = <usize>next * size;
    for (let e: usize = 0; e < size; e++) {
      setF(dS, col + e, getF(start, e) - getF(prevState, e));
      setF(dG, col + e, getF(residual, e) - getF(prevResidual, e));
    }
    next = (next + 1) % DEPTH;
    stored = min(stored + 1, DEPTH);
  }
  memory.copy(prevState, start, size << 2);
  memory.copy(prevResidual, residual, size << 2);
  havePrev = true;
  if (stored == 0) return false;
  if (!solveWeights()) return false;
  // s = F(s_k) - sum_j gamma_j (dS_j + dG_j)
  for (let j = 0; j < stored; j++) {
    const gamma = <f32>load<f64>(rhsVec + (<usize>j << 3)), col = dS + ((<usize>j * size) << 2), colG = dG + ((<usize>j * size) << 2);
    for (let e: usize = 0; e < size; e++) setF(plain, e, getF(plain, e) - gamma * (getF(col, e) + getF(colG, e)));
  }
  scatter(plain, w3, t, u1, u2);
  onTrial = true;
  trialLimit = SAFEGUARD * SAFEGUARD * gSq;
  return true;
}

/** gamma = (dG^T dG + reg I)^{-1} dG^T g into rhsVec, by Gaussian elimination; false when singular. */
function solveWeights(): bool {
  const k = stored;
  let largest: f64 = 0;
  for (let i = 0; i < k; i++) {
    const a = dG + ((<usize>i * size) << 2);
    let r: f64 = 0;
    for (let e: usize = 0; e < size; e++) r += <f64>getF(a, e) * <f64>getF(residual, e);
    store<f64>(rhsVec + (<usize>i << 3), r);
    for (let j = 0; j <= i; j++) {
      const b = dG + ((<usize>j * size) << 2);
      let s: f64 = 0;
      for (let e: usize = 0; e < size; e++) s += <f64>getF(a, e) * <f64>getF(b, e);
      store<f64>(gram + ((<usize>(i * k + j)) << 3), s);
      store<f64>(gram + ((<usize>(j * k + i)) << 3), s);
    }
    largest = Math.max(largest, load<f64>(gram + ((<usize>(i * k + i)) << 3)));
  }
  if (!(largest > 0)) return false;
  for (let i = 0; i < k; i++) {
    const at = gram + ((<usize>(i * k + i)) << 3);
    store<f64>(at, load<f64>(at) + REGULARIZATION * largest);
  }
  for (let c = 0; c < k; c++) { // elimination without pivoting: the matrix is positive definite
    const pivot = load<f64>(gram + ((<usize>(c * k + c)) << 3));
    if (!(pivot > 0)) return false;
    for (let r = c + 1; r < k; r++) {
      const f = load<f64>(gram + ((<usize>(r * k + c)) << 3)) / pivot;
      for (let j = c; j < k; j++) {
        const at = gram + ((<usize>(r * k + j)) << 3);
        store<f64>(at, load<f64>(at) - f * load<f64>(gram + ((<usize>(c * k + j)) << 3)));
      }
      store<f64>(rhsVec + (<usize>r << 3), load<f64>(rhsVec + (<usize>r << 3)) - f * load<f64>(rhsVec + (<usize>c << 3)));
    }
  }
  for (let r = k - 1; r >= 0; r--) {
    let s = load<f64>(rhsVec + (<usize>r << 3));
    for (let j = r + 1; j < k; j++) s -= load<f64>(gram + ((<usize>(r * k + j)) << 3)) * load<f64>(rhsVec + (<usize>j << 3));
    store<f64>(rhsVec + (<usize>r << 3), s / load<f64>(gram + ((<usize>(r * k + r)) << 3)));
  }
  return true;
}

function gather(to: usize, w3: usize, t: usize, u1: usize, u2: usize): void {
  memory.copy(to, w3, nm << 2);
  memory.copy(to + (nm << 2), t, pm << 2);
  memory.copy(to + ((nm + pm) << 2), u1, pm << 2);
  memory.copy(to + ((nm + 2 * pm) << 2), u2, nm << 2);
}

function scatter(from: usize, w3: usize, t: usize, u1: usize, u2: usize): void {
  memory.copy(w3, from, nm << 2);
  memory.copy(t, from + (nm << 2), pm << 2);
  memory.copy(u1, from + ((nm + pm) << 2), pm << 2);
  memory.copy(u2, from + ((nm + 2 * pm) << 2), nm << 2);
}

// The group (row) variant of method.md section 7: minimize sum_g w_g ||W_g||_2, the rows of W
// partitioned into groups (an input neuron, or the kh * kw rows of one input channel of a
// convolution). Only the W2 step of the ADMM changes: a block soft-threshold of each group,
//   W2_g = max(0, 1 - (w_g / rho) / ||A_g||_F) A_g,   A = W3 - U2.
// Rows whose group id is negative are not penalized (the bias row unless asked, the padding).
import { Param } from './params';
import { arenaAllocF32, getF, setF } from './memory';
import { madd, hsum } from './simd';

// The caller's group layout for this solve (module globals: the stub runtime has no objects to spare).
let groupIds: usize = 0; // i32 per (padded) row of W: its group, or -1 for an unpenalized row
let groupWeights: usize = 0; // f32 per group: w_g
let groupCount: i32 = 0;
let groupScale: usize = 0; // f64 per group: scratch, ||A_g||^2 then the shrink factor

/**
 * Reads the group layout from the parameter block and reserves its scratch. Returns whether this
 * solve is a group program (false: the element-wise l1 program, or the scratch could not be had:
 * then `reserved` is false too and the caller reports out of memory).
 */
export function groupsReserve(block: usize): bool {
  groupIds = <usize>load<f64>(block + (<usize>Param.GroupIdsPtr << 3));
  groupWeights = <usize>load<f64>(block + (<usize>Param.GroupWeightsPtr << 3));
  groupCount = <i32>load<f64>(block + (<usize>Param.GroupCount << 3));
  if (groupIds == 0) return false;
  groupScale = arenaAllocF32(<usize>max(groupCount, 1) << 1);
  return true;
}

/** Whether the group scratch was reserved (only asked when groupsReserve returned true). */
export function groupsReserved(): bool {
  return groupScale != 0;
}

/**
 * W2 = block_soft_threshold(W3 - U2, w_g / rho) over the n x m rows (m a multiple of 8), then
 * U2 += alpha W2 + (1 - alpha) W3, as the element-wise step does. Returns ||W2||^2.
 */
export function updateW2Groups(w2: usize, w3: usize, u2: usize, n: i32, m: i32, kappa: f32, alpha: f32): f64 {
  // pass 1: ||A_g||^2, summed row by row
  memory.fill(groupScale, 0, <usize>groupCount << 3);
  for (let i = 0; i < n; i++) {
    const g = load<i32>(groupIds + (<usize>i << 2));
    if (g < 0) continue;
    const o = <usize>i * m;
    const sq = rowNormSq(w3 + (o << 2), u2 + (o << 2), m);
    const at = groupScale + (<usize>g << 3);
    store<f64>(at, load<f64>(at) + sq);
  }
  // the shrink factor of each group; a zero block stays zero
  for (let g = 0; g < groupCount; g++) {
    const at = groupScale + (<usize>g << 3);
    const norm = Math.sqrt(load<f64>(at)), cut = <f64>kappa * <f64>getF(groupWeights, g);
    store<f64>(at, norm > cut ? 1 - cut / norm : 0);
  }
  // pass 2: scale every row by its group's factor (1 for unpenalized rows)
  let total: f64 = 0;
  for (let i = 0; i < n; i++) {
    const g = load<i32>(groupIds + (<usize>i << 2));
    const f: f32 = g < 0 ? 1 : <f32>load<f64>(groupScale + (<usize>g << 3));
    const o = (<usize>i * m) << 2;
    total += scaleRow(w2 + o, w3 + o, u2 + o, m, f, alpha);
  }
  return total;
}

/** ||W3_row - U2_row||^2 over m entries. */
function rowNormSq(w3: usize, u2: usize, m: i32): f64 {
  if (ASC_FEATURE_SIMD) {
    let acc = f32x4.splat(0);
    for (let e = 0; e < m; e += 4) {
      const o = <usize>e << 2;
      const a = f32x4.sub(v128.load(w3 + o), v128.load(u2 + o));
      acc = madd(a, a, acc);
    }
    return hsum(acc);
  }
  let total: f64 = 0;
  for (let e = 0; e < m; e++) {
    const a = getF(w3, e) - getF(u2, e);
    total += <f64>(a * a);
  }
  return total;
}

/** One row: W2 = f (W3 - U2), U2 += alpha W2 + (1 - alpha) W3. Returns ||W2_row||^2. */
function scaleRow(w2: usize, w3: usize, u2: usize, m: i32, f: f32, alpha: f32): f64 {
  const beta: f32 = 1 - alpha;
  if (ASC_FEATURE_SIMD) {
    const vf = f32x4.splat(f), va = f32x4.splat(alpha), vb = f32x4.splat(beta);
    let acc = f32x4.splat(0);
    for (let e = 0; e < m; e += 4) {
      const o = <usize>e << 2, w3v = v128.load(w3 + o), uv = v128.load(u2 + o);
      const w = f32x4.mul(vf, f32x4.sub(w3v, uv));
      v128.store(w2 + o, w);
      acc = madd(w, w, acc);
      v128.store(u2 + o, f32x4.add(uv, madd(va, w, f32x4.mul(vb, w3v))));
    }
    return hsum(acc);
  }
  let total: f64 = 0;
  for (let e = 0; e < m; e++) {
    const w3v = getF(w3, e), uv = getF(u2, e), w = f * (w3v - uv);
    setF(w2, e, w);
    total += <f64>(w * w);
    setF(u2, e, uv + alpha * w + beta * w3v);
  }
  return total;
}

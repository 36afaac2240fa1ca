// Dense products C = A'B for the ADMM: the two N x M x P products per iteration, the Gram matrix
// and the CG steps all reduce to this one kernel with different strides.
import { madd } from './simd';
import { forkJoinProduct, getThreads, threadId } from './threads';
import { arenaEnd } from './memory';

// Block sizes, chosen by benchmarking on 785 x 300 x 4000 (bench/kernels.bench.ts): a 4 x 8 tile
// of C lives in eight registers; a depth block of KC keeps the B panel (KC x 8) in L1, a row block
// of MC keeps the A block (MC x KC) in L2 while all column tiles pass over it.
const KC: i32 = 256;
const MC: i32 = 64;

/**
 * C = A'B, or C += A'B when `accumulate`, with A'(i, k) = A[i * aRow + k * aDepth], B(k, j) = B[k * ldb + j].
 *   C = A B   (A row-major, rows x depth):  aRow = lda, aDepth = 1
 *   C = A^T B (A row-major, depth x rows):  aRow = 1,   aDepth = lda
 * Strides count f32 elements. rows must be a multiple of 4 and cols of 8: callers pad with zeros.
 */
export function gemm(
  c: usize, ldc: i32, a: usize, aRow: i32, aDepth: i32, b: usize, ldb: i32,
  rows: i32, cols: i32, depth: i32, accumulate: bool,
): void {
  if (ASC_FEATURE_SIMD && !reservePacking(getThreads())) {
    gemmScalar(c, ldc, a, aRow, aDepth, b, ldb, rows, cols, depth, accumulate); // no memory to pack in: slow but right
    return;
  }
  // below 16 rows a thread the hand-off costs more than it saves
  if (ASC_FEATURE_THREADS && getThreads() > 1 && rows >= 16 * getThreads()) {
    forkJoinProduct(gemmLocal, c, ldc, a, aRow, aDepth, b, ldb, rows, cols, depth, accumulate);
  } else {
    gemmLocal(c, ldc, a, aRow, aDepth, b, ldb, rows, cols, depth, accumulate);
  }
}

// B is packed too, a KC x NC panel at a time, into strips of KC x 8 contiguous floats (the tile's
// columns). Read in place, a strip's KC rows lie ldb floats apart; with ldb a multiple of 1024
// (M = 2048 outputs) they all map to the same few cache sets, so a strip did not stay in L1 or
// even L2 across the row tiles that reuse it (bench/wide.ts: 1.5x the rate at M = 2048 once packed).
// Other strides spread a strip over the sets and are read in place (no copy).
const NC: i32 = 1024;
const CONFLICT_STRIDE: i32 = 128; // floats: ldb a multiple of this is packed

// Bytes of one thread's packing slot: an MC x KC block of A, then a KC x NC panel of B.
const PACK_BYTES: usize = <usize>(MC * KC) << 2;
const PANEL_BYTES: usize = <usize>(KC * NC) << 2;
const SLOT_BYTES: usize = PACK_BYTES + PANEL_BYTES;

/**
 * This thread's packing slot: above the arena's end, which no one moves during a product (thread
 * 0 made sure the memory reaches it: reservePacking), one slot per thread.
 */
function packBuffer(): usize {
  return arenaEnd() + <usize>threadId() * SLOT_BYTES;
}

/** Grows the memory, if need be, so that `threads` packing buffers fit above the arena's end; false if it cannot. */
function reservePacking(threads: i32): bool {
  const end = arenaEnd() + <usize>threads * SLOT_BYTES;
  const have = (<usize>memory.size()) << 16;
  return end <= have || memory.grow(<i32>((end - have + 0xffff) >> 16)) >= 0;
}

/** The product on this thread alone. */
export function gemmLocal(
  c: usize, ldc: i32, a: usize, aRow: i32, aDepth: i32, b: usize, ldb: i32,
  rows: i32, cols: i32, depth: i32, accumulate: bool,
): void {
  if (!ASC_FEATURE_SIMD) {
    gemmScalar(c, ldc, a, aRow, aDepth, b, ldb, rows, cols, depth, accumulate);
    return;
  }
  if (depth == 0 && !accumulate) {
    for (let i = 0; i < rows; i++) memory.fill(c + ((<usize>i * ldc) << 2), 0, <usize>cols << 2);
    return;
  }
  // A' read down its columns (A^T B, A row-major): each step of depth touches another cache line
  // and page of A, so each block of A is first packed into this thread's buffer, tile by tile
  const packed = aRow == 1 && aDepth != 1;
  const pack = packBuffer(), panel = pack + PACK_BYTES;
  const packB = ldb % CONFLICT_STRIDE == 0;
  const chunk = packB ? NC : cols; // read in place, B needs no column blocks
  for (let k0 = 0; k0 < depth; k0 += KC) {
    const kc = min(KC, depth - k0);
    const add = accumulate || k0 > 0;
    for (let j0 = 0; j0 < cols; j0 += chunk) {
      const nc = min(chunk, cols - j0);
      const bBlock = b + ((<usize>k0 * ldb + j0) << 2);
      if (packB) packPanel(panel, bBlock, ldb, kc, nc);
      const stripBytes: usize = packB ? <usize>kc << 5 : 32, bRowBytes: usize = packB ? 32 : <usize>ldb << 2;
      const bBase = packB ? panel : bBlock;
      for (let i0 = 0; i0 < rows; i0 += MC) {
        const iEnd = min(i0 + MC, rows);
        // where row i0 of this block starts, the bytes from one row to the next and from one step of
        // depth to the next: in A, or in the packed copy (kc groups of 4 rows' values per 4-row tile)
        let base = a + ((<usize>i0 * aRow + <usize>k0 * aDepth) << 2);
        let rowBytes = <usize>aRow << 2, rowStep = <usize>aRow << 2, depthStep = <usize>aDepth << 2;
        if (packed) {
          packTransposed(pack, base, aDepth, iEnd - i0, kc);
          base = pack; rowBytes = <usize>kc << 2; rowStep = 4; depthStep = 16;
        }
        for (let j = 0; j < nc; j += 8) {
          const strip = bBase + (<usize>(j >> 3)) * stripBytes; // kc x 8: packed, or in place
          for (let i = i0; i < iEnd; i += 4) {
            tile4x8(
              c + ((<usize>i * ldc + j0 + j) << 2), <usize>ldc << 2,
              base + <usize>(i - i0) * rowBytes, rowStep, depthStep,
              strip, bRowBytes, kc, add,
            );
          }
        }
      }
    }
  }
}

/** Copies kc x nc of B (row stride ldb floats) into panel as nc / 8 strips of kc x 8 contiguous floats. */
function packPanel(panel: usize, b: usize, ldb: i32, kc: i32, nc: i32): void {
  for (let k = 0; k < kc; k++) {
    const src = b + ((<usize>k * ldb) << 2);
    let dst = panel + (<usize>k << 5);
    const stripBytes = <usize>kc << 5;
    for (let j = 0; j < nc; j += 8) {
      v128.store(dst, v128.load(src + (<usize>j << 2)));
      v128.store(dst, v128.load(src + (<usize>j << 2), 16), 16);
      dst += stripBytes;
    }
  }
}

/** Copies rows x kc of A' (4 consecutive floats per row group and step, stride aDepth floats) into pack, tile-major. */
function packTransposed(pack: usize, a: usize, aDepth: i32, rows: i32, kc: i32): void {
  for (let t = 0; t < rows; t += 4) {
    const dst = pack + ((<usize>t * kc) << 2), src = a + (<usize>t << 2);
    for (let k = 0; k < kc; k++) v128.store(dst + (<usize>k << 4), v128.load(src + ((<usize>k * aDepth) << 2)));
  }
}

/** One 4 x 8 tile of C over kc steps of depth: eight accumulators, byte strides. */
// @ts-ignore: decorator
@inline function tile4x8(
  c: usize, ldc: usize, a: usize, aRow: usize, aDepth: usize, b: usize, ldb: usize, kc: i32, add: bool,
): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let a0 = a, a1 = a + aRow, a2 = a + 2 * aRow, a3 = a + 3 * aRow;
  let pb = b;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb), b1 = v128.load(pb, 16);
    let s = v128.load32_splat(a0);
    c00 = madd(s, b0, c00); c01 = madd(s, b1, c01);
    s = v128.load32_splat(a1);
    c10 = madd(s, b0, c10); c11 = madd(s, b1, c11);
    s = v128.load32_splat(a2);
    c20 = madd(s, b0, c20); c21 = madd(s, b1, c21);
    s = v128.load32_splat(a3);
    c30 = madd(s, b0, c30); c31 = madd(s, b1, c31);
    a0 += aDepth; a1 += aDepth; a2 += aDepth; a3 += aDepth;
    pb += ldb;
  }
  if (add) {
    c00 = f32x4.add(c00, v128.load(c)); c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c + ldc)); c11 = f32x4.add(c11, v128.load(c + ldc, 16));
    c20 = f32x4.add(c20, v128.load(c + 2 * ldc)); c21 = f32x4.add(c21, v128.load(c + 2 * ldc, 16));
    c30 = f32x4.add(c30, v128.load(c + 3 * ldc)); c31 = f32x4.add(c31, v128.load(c + 3 * ldc, 16));
  }
  v128.store(c, c00); v128.store(c, c01, 16);
  v128.store(c + ldc, c10); v128.store(c + ldc, c11, 16);
  v128.store(c + 2 * ldc, c20); v128.store(c + 2 * ldc, c21, 16);
  v128.store(c + 3 * ldc, c30); v128.store(c + 3 * ldc, c31, 16);
}

/** The same product, one element at a time: the reference the SIMD kernel is tested against. */
function gemmScalar(
  c: usize, ldc: i32, a: usize, aRow: i32, aDepth: i32, b: usize, ldb: i32,
  rows: i32, cols: i32, depth: i32, accumulate: bool,
): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      const pc = c + ((<usize>i * ldc + j) << 2);
      let s: f32 = accumulate ? load<f32>(pc) : 0;
      for (let k = 0; k < depth; k++) {
        s += load<f32>(a + ((<usize>i * aRow + <usize>k * aDepth) << 2)) *
          load<f32>(b + ((<usize>k * ldb + j) << 2));
      }
      store<f32>(pc, s);
    }
  }
}

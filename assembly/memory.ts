// Raw memory access and the workspace arena. Everything here works on byte addresses.

/** f32 element i of the array at p. */
// @ts-ignore: decorator
@inline export function getF(p: usize, i: usize): f32 {
  return load<f32>(p + (i << 2));
}

/** Writes f32 element i of the array at p. */
// @ts-ignore: decorator
@inline export function setF(p: usize, i: usize, v: f32): void {
  store<f32>(p + (i << 2), v);
}

// The arena: one bump pointer over linear memory. A solve reserves everything it needs up front
// and the next solve starts over, so there is nothing to free and no fragmentation.
// The pointer lives in memory, not in a wasm global: the caller's instance reserves the inputs and a
// worker's instance over the same shared memory (src/wasm/pool.ts) reserves the workspace after them.
const ARENA_TOP: usize = memory.data(8, 8);

// @ts-ignore: decorator
@inline function top(): usize {
  return load<usize>(ARENA_TOP);
}

/** Where reservations start: the heap base, 64-byte aligned like every reservation. */
// @ts-ignore: decorator
@inline function start(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** Forgets every reservation; the next one starts at the heap base. */
export function arenaReset(): void {
  store<usize>(ARENA_TOP, start());
}

/** Reserves `bytes` (64-byte aligned, so SIMD rows start on cache lines); 0 if memory cannot grow. */
export function arenaAlloc(bytes: usize): usize {
  if (top() == 0) arenaReset();
  const first = top();
  const end = (first + bytes + 63) & ~(<usize>63);
  const have = (<usize>memory.size()) << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  store<usize>(ARENA_TOP, end);
  return first;
}

/** Reserves `count` zeroed f32. */
export function arenaAllocF32(count: usize): usize {
  const p = arenaAlloc(count << 2);
  if (p != 0) memory.fill(p, 0, count << 2);
  return p;
}

/**
 * The end of the reservations, 64-byte aligned: memory below it is all a solve reads and writes
 * (static data included).
 */
export function arenaEnd(): usize {
  return top() == 0 ? start() : top();
}

/** Bytes reserved so far (for memory reports). */
export function arenaUsed(): usize {
  return arenaEnd() - start();
}

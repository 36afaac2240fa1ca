// A seeded PRNG for reproducible test problems: mulberry32 (32-bit state, period 2^32) and
// Gaussians by Box-Muller. Not for statistics, only so every run builds the same matrices.

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal numbers from a uniform source (Box-Muller; one of the pair is dropped, simpler). */
export function gaussian(uniform: () => number): () => number {
  return () => {
    // 1 - u is in (0, 1]: the log never sees 0
    const radius = Math.sqrt(-2 * Math.log(1 - uniform()));
    return radius * Math.cos(2 * Math.PI * uniform());
  };
}

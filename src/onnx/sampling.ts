// Which (sample, position) pairs become program columns when a layer has more than its budget:
// spread evenly over the samples, positions drawn at random without replacement, seeded so that
// the same seed picks the same columns in every pass (the cascade needs the trained and the pruned
// network's signals at identical columns).

/** How many of its `positions` each of `samples` samples contributes, for at most `budget` columns. */
export function columnsPerSample(samples: number, positions: number, budget: number): Int32Array {
  const counts = new Int32Array(samples);
  if (samples * positions <= budget) return counts.fill(positions);
  for (let p = 0; p < samples; p++) {
    const share = Math.floor(((p + 1) * budget) / samples) - Math.floor((p * budget) / samples);
    counts[p] = Math.min(positions, share);
  }
  return counts;
}

/** `count` distinct positions out of `positions`, increasing, drawn from a stream keyed by the three ids. */
export function samplePositions(seed: number, layer: number, sample: number, positions: number, count: number): Int32Array {
  const out = new Int32Array(count);
  if (count >= positions) {
    for (let i = 0; i < count; i++) out[i] = i;
    return out;
  }
  const random = mulberry32(hash3(seed, layer, sample));
  if (count * 4 < positions) {
    const chosen = new Set<number>();
    while (chosen.size < count) chosen.add(Math.floor(random() * positions));
    out.set([...chosen]);
  } else {
    const pool = new Int32Array(positions);
    for (let i = 0; i < positions; i++) pool[i] = i;
    for (let i = 0; i < count; i++) {
      const j = i + Math.floor(random() * (positions - i));
      const t = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = t;
    }
    out.set(pool.subarray(0, count));
  }
  return out.sort();
}

/** A small, fast, well-mixed 32-bit generator (Tommy Ettinger's mulberry32); returns [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mixes three integers into one seed (murmur3's finalizer on a running combination). */
function hash3(a: number, b: number, c: number): number {
  let h = 0x9e3779b9;
  for (const v of [a, b, c]) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

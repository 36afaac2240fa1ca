// The one check every runtime runs (test/runtimes.test.ts): a planted sparse linear layer, solved with
// the public API, must come back exactly. Theory (method.md section 1): with Gaussian inputs, s nonzero
// weights per neuron and P well above (11 s + 7) ln N samples, epsilon = 0 recovers the planted layer.
//
// Imports nothing from the library: each runtime's driver passes in what `import ... from 'nettrim'`
// gave it, so the package's export conditions pick the entry. The data use only + - * / and sqrt,
// which IEEE 754 fixes to the bit, so every JavaScript engine builds the same problem (Math.log and
// Math.cos may differ in the last bit between engines, so they are not used).

/** The parts of the public API the case needs. */
export interface PlantedApi {
  trimLayer(input: {
    inputs: Float32Array; outputs: Float32Array; samples: number; inputSize: number; outputSize: number;
  }, settings: Record<string, unknown>): Promise<{
    weights: Float32Array; bias: Float32Array | null; nnz: number; l1: number; status: string;
    iterations: number; relativeError: number;
  }>;
  LayerSolver: {
    create(): Promise<{
      flavour: string; threads: number;
      solve(input: { inputs: Float32Array; outputs: Float32Array; samples: number; inputSize: number; outputSize: number },
        settings: Record<string, unknown>): { weights: Float32Array };
      close(): Promise<void>;
    }>;
  };
  SolverPool: {
    create(options: { threads: number; lanes: number }): Promise<{
      solveAll(jobs: { input: PlantedInput; settings: Record<string, unknown> }[]): Promise<{ weights: Float32Array }[]>;
      close(): Promise<void>;
    }>;
  };
}

type PlantedInput = { inputs: Float32Array; outputs: Float32Array; samples: number; inputSize: number; outputSize: number };

/** What a runtime reports; the test compares these across runtimes. */
export interface PlantedReport {
  problem: { inputSize: number; outputSize: number; perNeuron: number; samples: number; seed: number };
  /** FNV-1a of the inputs and outputs as float32 bytes: equal when the runtimes built the same problem. */
  inputHash: string;
  /** The wasm build that runs by default here (relaxed, simd or scalar). */
  flavour: string;
  /** Threads a default solver gets here (workers over shared memory where the host allows them). */
  threads: number;
  status: string;
  iterations: number;
  relativeError: number;
  nnz: number;
  l1: number;
  /** Indices (row * outputSize + neuron) of the nonzero weights, ascending. */
  pattern: number[];
  /** The weights at those indices. */
  values: number[];
  /** Largest |got - planted| / |planted| over the planted support. */
  maxRelativeError: number;
  /** Why the planted layer did not come back; empty when it did. */
  problems: string[];
  seconds: number;
}

export const PLANTED = { inputSize: 60, outputSize: 6, perNeuron: 3, seed: 11 } as const;
/** Values within this relative distance of the planted ones count as recovered. */
export const VALUE_TOLERANCE = 1e-3;
const SETTINGS = { epsilon: 0, activation: 'linear', bias: false, relTol: 1e-5, maxIterations: 5000 };

/** Builds the planted layer, solves it with `api` and checks what came back. */
export async function runPlantedCase(api: PlantedApi): Promise<PlantedReport> {
  const { inputSize: n, outputSize: m, perNeuron: s, seed } = PLANTED;
  const samples = 2 * Math.ceil((11 * s + 7) * ln(n)); // twice the bound: 328 for n = 60, s = 3
  const { x, y, w } = plantedLayer(n, m, s, samples, seed);
  const started = performance.now();
  const r = await api.trimLayer(
    { inputs: x, outputs: y, samples, inputSize: n, outputSize: m },
    SETTINGS,
  );
  const seconds = (performance.now() - started) / 1000;
  // the same program solved synchronously on this thread (a browser's main thread computes alone)
  const solver = await api.LayerSolver.create();
  const again = solver.solve({ inputs: x, outputs: y, samples, inputSize: n, outputSize: m }, SETTINGS);
  await solver.close();
  // and twice side by side, through a pool of two one-thread lanes (one lane where there are no workers)
  const pool = await api.SolverPool.create({ threads: 2, lanes: 2 });
  const job = { input: { inputs: x, outputs: y, samples, inputSize: n, outputSize: m }, settings: SETTINGS };
  const pooled = await pool.solveAll([job, job]);
  await pool.close();
  const pattern: number[] = [], values: number[] = [];
  r.weights.forEach((v, i) => { if (v !== 0) { pattern.push(i); values.push(v); } });
  const problems: string[] = [];
  if (r.status !== 'solved') problems.push(`status ${r.status} after ${r.iterations} iterations`);
  if (r.bias !== null) problems.push('a bias came back with bias off');
  for (const [what, other] of [['solve() on this thread', again], ['SolverPool, lane 1', pooled[0]!], ['SolverPool, lane 2', pooled[1]!]] as const) {
    const moved = r.weights.findIndex((v, i) => v !== other.weights[i]);
    if (moved >= 0) problems.push(`${what} differs from trimLayer at weight ${moved}: ${other.weights[moved]} vs ${r.weights[moved]}`);
  }
  let maxRelativeError = 0;
  for (let i = 0; i < w.length; i++) {
    const where = `row ${Math.floor(i / m)}, neuron ${i % m}`;
    if (w[i] === 0) {
      if (r.weights[i] !== 0) problems.push(`${where}: planted 0, got ${r.weights[i]}`);
      continue;
    }
    const rel = Math.abs(r.weights[i] - w[i]) / Math.abs(w[i]);
    maxRelativeError = Math.max(maxRelativeError, rel);
    if (!(rel <= VALUE_TOLERANCE)) problems.push(`${where}: planted ${w[i]}, got ${r.weights[i]} (relative error ${rel.toExponential(2)})`);
  }
  return {
    problem: { inputSize: n, outputSize: m, perNeuron: s, samples, seed },
    inputHash: fnv1a(x, y),
    flavour: solver.flavour, threads: solver.threads,
    status: r.status, iterations: r.iterations, relativeError: r.relativeError,
    nnz: r.nnz, l1: r.l1, pattern, values, maxRelativeError, problems: problems.slice(0, 20), seconds,
  };
}

/** Gaussian P x N inputs, an N x M teacher with s nonzeros per neuron (|w| in [0.5, 1.5)), Y = X W. */
function plantedLayer(n: number, m: number, s: number, p: number, seed: number) {
  const rand = mulberry32(seed);
  const x = new Float32Array(p * n);
  for (let i = 0; i < x.length; i++) x[i] = gaussian(rand);
  const w = new Float32Array(n * m);
  for (let j = 0; j < m; j++) {
    const rows = new Set<number>();
    while (rows.size < s) rows.add(Math.floor(rand() * n));
    for (const r of rows) w[r * m + j] = (rand() < 0.5 ? -1 : 1) * (0.5 + rand());
  }
  const y = new Float32Array(p * m);
  for (let q = 0; q < p; q++) {
    for (let j = 0; j < m; j++) {
      let v = 0;
      for (let r = 0; r < n; r++) v += x[q * n + r] * w[r * m + j];
      y[q * m + j] = v;
    }
  }
  return { x, y, w };
}

/** mulberry32: 32-bit integer steps only, so every engine draws the same numbers; values in (0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
}

/** Marsaglia's polar method, with the logarithm below. */
function gaussian(rand: () => number): number {
  for (;;) {
    const u = 2 * rand() - 1, v = 2 * rand() - 1, q = u * u + v * v;
    if (q > 0 && q < 1) return u * Math.sqrt((-2 * ln(q)) / q);
  }
}

/** Natural log of x > 0 from + - * / alone: x = f 2^e with f in [1, 2), ln f = 2 atanh((f-1)/(f+1)). */
function ln(x: number): number {
  let e = 0;
  while (x >= 2) { x /= 2; e++; }
  while (x < 1) { x *= 2; e--; }
  const t = (x - 1) / (x + 1), t2 = t * t; // t < 1/3: 30 terms leave under 1e-28
  let sum = 0, term = t;
  for (let k = 1; k < 60; k += 2) { sum += term / k; term *= t2; }
  return 2 * sum + e * 0.6931471805599453;
}

function fnv1a(...arrays: Float32Array[]): string {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

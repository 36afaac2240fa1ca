// The Gram form of linear programs (assembly/gram.ts) against the sample form, on a linear layer
// of real digits: X = MNIST digits (the `mnist` package's 10,000, each used several times with a
// seeded shift of up to 2 pixels to reach P = 50,000), N = 784 + bias, M = 300, a random Gaussian W
// and bias, Y = X W + b, epsilon 0.05 relative. The target: time per iteration at
// P = 50,000 within 10% of P = 5,000's.
//
//   node --import tsx bench/gram.ts [--samples 5000,50000] [--threads N] [--full] [--json FILE]
//
// Time per iteration is a slope: solves with maxIterations K1 and K2 and tolerances too tight to
// stop earlier, each the best of REPEATS (the machine is shared); (t2 - t1) / (K2 - K1) leaves the
// set-up out, and t1 - K1 * slope is the set-up.
// --full also runs both forms to their default stopping point at the smallest P (same status,
// iterations, l1, error and certificate), and the Gram form at every P.
import { createRequire } from 'node:module';
import { LayerSolver, type LayerInput, type TrimSettings } from '../src/index.ts';
import { gaussian, seededRandom } from '../test/helpers/random.ts';
import { emitJson, fmt, formatTable, machineInfo, option } from './common.ts';

const PIXELS = 784, SIDE = 28, OUTPUTS = 300, EPSILON = 0.05;
const argv = process.argv.slice(2);
const sampleCounts = (option(argv, '--samples') ?? '5000,50000').split(',').map(Number);
const threads = option(argv, '--threads') ? Number(option(argv, '--threads')) : undefined;
const full = argv.includes('--full');

interface MnistDigit { length: number; get(index: number): number[] }

/** P rows of 784 pixels: the package's digits in turn, the k-th reuse shifted by a seeded (dx, dy). */
function digits(p: number): Float32Array {
  const mnist = createRequire(import.meta.url)('mnist') as readonly MnistDigit[];
  const pool: number[][] = [];
  for (let d = 0; d < 10; d++) for (let i = 0; i < mnist[d]!.length; i++) pool.push(mnist[d]!.get(i));
  const random = seededRandom(7), x = new Float32Array(p * PIXELS);
  for (let s = 0; s < p; s++) {
    const img = pool[s % pool.length]!;
    const reuse = Math.floor(s / pool.length);
    const dx = reuse === 0 ? 0 : Math.floor(random() * 5) - 2, dy = reuse === 0 ? 0 : Math.floor(random() * 5) - 2;
    for (let r = 0; r < SIDE; r++) {
      for (let c = 0; c < SIDE; c++) {
        const r0 = r - dy, c0 = c - dx;
        if (r0 >= 0 && r0 < SIDE && c0 >= 0 && c0 < SIDE) x[s * PIXELS + r * SIDE + c] = img[r0 * SIDE + c0]!;
      }
    }
  }
  return x;
}

/** Y = X W + b for a random Gaussian W (scaled by 1 / sqrt(N)) and b. */
function linearLayer(x: Float32Array, p: number): LayerInput {
  const normal = gaussian(seededRandom(11));
  const w = Float32Array.from({ length: PIXELS * OUTPUTS }, () => normal() / Math.sqrt(PIXELS));
  const b = Float32Array.from({ length: OUTPUTS }, () => 0.1 * normal());
  const y = new Float32Array(p * OUTPUTS);
  for (let s = 0; s < p; s++) {
    const row = y.subarray(s * OUTPUTS, (s + 1) * OUTPUTS);
    row.set(b);
    for (let i = 0; i < PIXELS; i++) {
      const v = x[s * PIXELS + i]!;
      if (v === 0) continue;
      for (let j = 0; j < OUTPUTS; j++) row[j] += v * w[i * OUTPUTS + j]!;
    }
  }
  return { inputs: x.subarray(0, p * PIXELS), outputs: y, samples: p, inputSize: PIXELS, outputSize: OUTPUTS };
}

const base: Partial<TrimSettings> = { epsilon: EPSILON, activation: 'linear' };
const solver = await LayerSolver.create(threads ? { threads } : {});
const largest = Math.max(...sampleCounts);
const x = digits(largest);
const machine = machineInfo();
console.log(`machine: ${machine.cpu}, ${machine.cores} cores, load ${machine.loadAverage} (shared: compare ratios within this run), ${solver.threads} threads, ${solver.flavour}`);

interface SlopeRow { form: string; samples: number; perIteration: number; setup: number }
const slopes: SlopeRow[] = [];
for (const p of sampleCounts) {
  const input = linearLayer(x, p);
  for (const form of ['gram', 'samples'] as const) {
    // the sample form costs ~2 P N M per iteration: fewer iterations at large P keep the run short
    const [k1, k2] = form === 'samples' && p > 10000 ? [2, 6] : [5, 45];
    const repeats = form === 'samples' && p > 10000 ? 1 : 3;
    const timed = (k: number) => {
      const r = solver.solve(input, { ...base, form, maxIterations: k, absTol: 1e-12, relTol: 1e-12 });
      if (r.form !== form || r.iterations !== k) throw new Error(`expected ${k} iterations in the ${form} form, got ${r.iterations} (${r.form})`);
      return r.seconds;
    };
    let t1 = Infinity, t2 = Infinity;
    for (let k = 0; k < repeats; k++) { t1 = Math.min(t1, timed(k1)); t2 = Math.min(t2, timed(k2)); }
    const perIteration = (t2 - t1) / (k2 - k1);
    slopes.push({ form, samples: p, perIteration, setup: t1 - k1 * perIteration });
  }
}
console.log('\ntime per iteration (slope of two capped solves) and set-up, seconds');
console.log(formatTable(['form', 'P', 'per iteration', 'set-up'], slopes.map((s) => [s.form, String(s.samples), fmt(s.perIteration, 4), fmt(s.setup, 2)])));
const gramAt = (p: number) => slopes.find((s) => s.form === 'gram' && s.samples === p)!.perIteration;
const smallest = Math.min(...sampleCounts);
const ratio = gramAt(largest) / gramAt(smallest);
console.log(`\nGram form, per iteration at P = ${largest} over P = ${smallest}: ${fmt(ratio, 3)} (target <= 1.10: ${ratio <= 1.1 ? 'met' : 'missed'})`);
for (const p of sampleCounts) {
  const samples = slopes.find((s) => s.form === 'samples' && s.samples === p)!.perIteration;
  console.log(`P = ${p}: the sample form's iteration costs ${fmt(samples / gramAt(p), 1)}x the Gram form's`);
}

const solves: Record<string, unknown>[] = [];
if (full) {
  console.log('\nsolves at default settings');
  const rows: string[][] = [];
  for (const p of sampleCounts) {
    const input = linearLayer(x, p);
    for (const form of p === smallest ? (['samples', 'gram'] as const) : (['gram'] as const)) {
      const r = solver.solve(input, { ...base, form });
      solves.push({ form, samples: p, status: r.status, iterations: r.iterations, l1: r.l1, nnz: r.nnz, relativeError: r.relativeError, gap: r.gap, seconds: r.seconds });
      rows.push([form, String(p), r.status, String(r.iterations), fmt(r.l1, 3), String(r.nnz), fmt(r.relativeError, 6), fmt(r.gap, 5), fmt(r.seconds, 2)]);
    }
  }
  console.log(formatTable(['form', 'P', 'status', 'iterations', 'l1', 'nnz', 'error', 'gap', 'seconds'], rows));
}
await solver.close();
emitJson({ machine, slopes, ratio, solves }, argv);

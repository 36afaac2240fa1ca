// The product kernel C = A'B (every heavy step of the ADMM is one) on the shapes of the mnist-mlp
// layer solve, in each wasm build this runtime validates, against a plain TypeScript loop and
// against the machine's measured wasm f32x4 peak.
//
//   node --import tsx bench/kernels.bench.ts                                   (simd, scalar)
//   node --experimental-wasm-relaxed-simd --import tsx bench/kernels.bench.ts  (relaxed too)
//   options: --time MS (tinybench budget per fast task, default 3000), --json FILE
import os from 'node:os';
import { Bench, type Task } from 'tinybench';
import { WasmKernels, type KernelOptions } from '../src/wasm/interface.ts';
import type { KernelFlavour } from '../src/wasm/load.ts';
import { bestAndMedian, emitJson, fmt, formatTable, machineInfo, option, type MachineInfo } from './common.ts';
import { isMeasured, measurePeaks, type PeakResult, type PeakSkipped } from './peak.ts';

/** One product as the solver runs it: C (rows x cols) = A'B over `depth`. */
interface Shape {
  label: string;
  /** Where the solver runs this shape. */
  role: string;
  rows: number; cols: number; depth: number;
  /** A is stored depth x rows (X^T B with sample-major X) rather than rows x depth. */
  transA: boolean;
}

// mnist-mlp layer 1 padded as the solver pads it: N = 785 -> 792 rows, M = 300 -> 304, P = 4000.
const SHAPES: Shape[] = [
  { label: 'NN 4000x304x792', role: 'T = X W3 (responses)', rows: 4000, cols: 304, depth: 792, transA: false },
  { label: 'TN 792x304x4000', role: 'R = X^T B (right-hand side)', rows: 792, cols: 304, depth: 4000, transA: true },
  { label: 'NN 792x304x792', role: 'CG step (Gram x directions)', rows: 792, cols: 304, depth: 792, transA: false },
];

const FLAVOURS: KernelFlavour[] = ['simd', 'relaxed', 'scalar'];
const TARGET_GFLOPS = 25;
const TARGET_SPEEDUP = 15;

/** One implementation on one shape. */
interface KernelResult {
  shape: string;
  implementation: string;
  /** Milliseconds per product: best and median of the samples. */
  bestMs: number;
  medianMs: number;
  samples: number;
  gflops: number;
  medianGflops: number;
  /** Best time of the plain loop / best time of this one. */
  speedupOverPlain: number;
  /** gflops / the f32x4 mul+add peak, and / the relaxed_madd peak where it was measured. */
  fractionOfMulAddPeak: number | null;
  fractionOfMaddPeak: number | null;
  /** max |C - C_plain| / max |C_plain| (a wrong kernel is not fast). */
  maxRelativeDifference: number;
}

interface KernelReport {
  benchmark: 'kernels';
  machine: MachineInfo;
  /** 1-minute load average when the run ended (the machine is shared). */
  loadAverageAtEnd: number;
  flavoursRun: KernelFlavour[];
  flavoursSkipped: { flavour: KernelFlavour; reason: string }[];
  peaks: (PeakResult | PeakSkipped)[];
  results: KernelResult[];
  targets: { shape: string; gflops: number; speedup: number; gflopsMet: boolean; speedupMet: boolean }[];
}

/**
 * C = A'B the way a JavaScript developer writes it, given a fair chance: i-k-j order so the inner
 * loop streams a row of B and a row of C, index arithmetic hoisted, Float32Array throughout.
 */
function plainProduct(c: Float32Array, a: Float32Array, b: Float32Array, rows: number, cols: number, depth: number, transA: boolean): void {
  c.fill(0);
  for (let i = 0; i < rows; i++) {
    const ci = i * cols;
    for (let k = 0; k < depth; k++) {
      const aik = transA ? a[k * rows + i] : a[i * depth + k];
      const bk = k * cols;
      for (let j = 0; j < cols; j++) c[ci + j] += aik * b[bk + j];
    }
  }
}

/** Uniform values in [-1, 1) from a fixed seed: the same inputs on every run. */
function randomArray(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function maxRelativeDifference(got: Float32Array, want: Float32Array): number {
  let scale = 0, worst = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    worst = Math.max(worst, Math.abs(got[i] - want[i]));
  }
  return worst / scale;
}

/** Every flavour this runtime validates, each in its own instance (own memory). */
async function loadFlavours() {
  const loaded: { flavour: KernelFlavour; kernels: WasmKernels }[] = [];
  const skipped: { flavour: KernelFlavour; reason: string }[] = [];
  for (const flavour of FLAVOURS) {
    try {
      // One thread: the kernel target is single-threaded (threaded builds share the products out).
      const options: KernelOptions & { threads?: number } = { flavour, threads: 1 };
      loaded.push({ flavour, kernels: await WasmKernels.create(options) });
    } catch (err) {
      const hint = flavour === 'relaxed' ? ' (Node 20: run with --experimental-wasm-relaxed-simd)' : '';
      skipped.push({ flavour, reason: (err as Error).message + hint });
    }
  }
  return { loaded, skipped };
}

interface Timing {
  bestMs: number;
  medianMs: number;
  samples: number;
}

/** Calls slower than this get a few samples only (the plain loop and the scalar build take seconds). */
const SLOW_CALL_MS = 250;

/**
 * Times one implementation with tinybench. A first call sizes the run: fast calls get the full
 * time budget (many samples, so the best one is from a quiet moment of this shared machine);
 * slow ones get one warm-up call and three samples.
 */
async function timeImplementation(name: string, fn: () => void, timeMs: number): Promise<Timing> {
  const start = performance.now();
  fn();
  const slow = performance.now() - start > SLOW_CALL_MS;
  const bench = slow
    ? new Bench({ time: 0, iterations: 3, warmupTime: 0, warmupIterations: 1 })
    : new Bench({ time: timeMs, iterations: 10, warmupTime: 300, warmupIterations: 5 });
  bench.add(name, fn, { async: false });
  await bench.run();
  return taskTimes(bench.tasks[0]);
}

function taskTimes(task: Task): Timing {
  const r = task.result;
  if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') throw new Error(`${task.name}: ${r.state}`);
  return { bestMs: r.latency.min, medianMs: r.latency.p50, samples: r.latency.samplesCount };
}

/** Benchmarks one shape: the plain loop first (its result checks the kernels), then each wasm flavour. */
async function benchShape(
  shape: Shape, flavours: { flavour: KernelFlavour; kernels: WasmKernels }[], timeMs: number,
  peaks: { mulAdd: number | null; madd: number | null },
): Promise<KernelResult[]> {
  const { rows, cols, depth, transA } = shape;
  const a = randomArray(rows * depth, 1), b = randomArray(depth * cols, 2);
  const c = new Float32Array(rows * cols);
  const flops = 2 * rows * cols * depth;

  const plain = await timeImplementation('plain TS loop', () => plainProduct(c, a, b, rows, cols, depth, transA), timeMs);
  const reference = c.slice();
  const record = (implementation: string, t: Timing, difference: number, usesMadd: boolean): KernelResult => {
    const gflops = flops / (t.bestMs / 1000) / 1e9;
    return {
      shape: shape.label, implementation, ...t,
      gflops, medianGflops: flops / (t.medianMs / 1000) / 1e9,
      speedupOverPlain: plain.bestMs / t.bestMs,
      fractionOfMulAddPeak: peaks.mulAdd ? gflops / peaks.mulAdd : null,
      fractionOfMaddPeak: peaks.madd && usesMadd ? gflops / peaks.madd : null,
      maxRelativeDifference: difference,
    };
  };
  const results = [record('plain TS loop', plain, 0, false)];
  for (const { flavour, kernels } of flavours) {
    const difference = maxRelativeDifference(kernels.product(a, b, rows, cols, depth, transA), reference);
    const run = kernels.productRunner(a, b, rows, cols, depth, transA);
    const timing = await timeImplementation(`wasm ${flavour}`, () => run(1), timeMs);
    results.push(record(`wasm ${flavour}`, timing, difference, flavour === 'relaxed'));
  }
  return results;
}

function printReport(report: KernelReport): void {
  const m = report.machine;
  console.log(`kernels: C = A'B on the mnist-mlp layer shapes; ${m.cpu} (${m.cpuFamilyModel}), ${m.cores} cores, Node ${m.node}, commit ${m.revision}, load ${m.loadAverage} -> ${report.loadAverageAtEnd}`);
  console.log(`flavours run: ${report.flavoursRun.join(', ')}`);
  for (const s of report.flavoursSkipped) console.log(`flavour skipped: ${s.flavour}: ${s.reason}`);
  for (const p of report.peaks) {
    console.log(isMeasured(p)
      ? `peak ${p.form}: ${fmt(p.gflops, 1)} GFLOP/s best, ${fmt(p.medianGflops, 1)} median (${p.layout}, ${p.repeats} repeats; ` +
        `layouts: ${Object.entries(p.layouts).map(([k, v]) => `${k} ${fmt(v, 1)}`).join(', ')})`
      : `peak ${p.form}: not measured: ${p.skipped}`);
  }
  console.log('');
  const pct = (v: number | null) => (v === null ? '-' : `${fmt(100 * v, 0)}%`);
  const rows = report.results.map((r) => [
    r.shape, r.implementation, fmt(r.bestMs, 1), fmt(r.medianMs, 1), fmt(r.gflops, 2), fmt(r.medianGflops, 2),
    `${fmt(r.speedupOverPlain, 1)}x`, pct(r.fractionOfMulAddPeak), pct(r.fractionOfMaddPeak), r.maxRelativeDifference.toExponential(1), String(r.samples),
  ]);
  console.log(formatTable(
    ['shape', 'implementation', 'best ms', 'median ms', 'GFLOP/s', 'median GFLOP/s', 'x plain', '% mul+add peak', '% madd peak', 'max rel diff', 'samples'],
    rows,
  ));
  console.log('');
  for (const t of report.targets) {
    console.log(`target (wasm simd, ${t.shape}): >= ${TARGET_GFLOPS} GFLOP/s: ${t.gflopsMet ? 'met' : 'NOT met'} (${fmt(t.gflops, 1)}); ` +
      `>= ${TARGET_SPEEDUP}x plain: ${t.speedupMet ? 'met' : 'NOT met'} (${fmt(t.speedup, 1)}x)`);
  }
  console.log('');
}

async function main(argv: string[]): Promise<void> {
  const timeMs = Number(option(argv, '--time') ?? 3000);
  const machine = machineInfo();
  const peaks = await measurePeaks();
  const peakOf = (form: string) => {
    const p = peaks.find((q) => q.form === form);
    return p && isMeasured(p) ? p.gflops : null;
  };
  const { loaded, skipped } = await loadFlavours();
  const results: KernelResult[] = [];
  for (const shape of SHAPES) {
    console.error(`benchmarking ${shape.label} (${shape.role}) ...`);
    results.push(...(await benchShape(shape, loaded, timeMs, { mulAdd: peakOf('mul+add'), madd: peakOf('relaxed_madd') })));
  }
  const targets = results.filter((r) => r.implementation === 'wasm simd').map((r) => ({
    shape: r.shape, gflops: r.gflops, speedup: r.speedupOverPlain,
    gflopsMet: r.gflops >= TARGET_GFLOPS, speedupMet: r.speedupOverPlain >= TARGET_SPEEDUP,
  }));
  const report: KernelReport = {
    benchmark: 'kernels', machine, loadAverageAtEnd: Number(os.loadavg()[0].toFixed(2)), flavoursRun: loaded.map((l) => l.flavour), flavoursSkipped: skipped, peaks, results, targets,
  };
  printReport(report);
  emitJson(report, argv);
}

await main(process.argv.slice(2));

// The mnist-mlp layer solve, ours (LayerSolver, wasm) and the authors' algorithm in NumPy
// (../shared/reference/nettrim_ref.py), side by side in one run on the same files: time,
// iterations, nnz, l1, achieved error, largest inactive violation and peak memory, against the
// targets of issue 2. Each solve runs in a fresh child process, so each is a cold one-shot solve
// as a user's command runs it, and its peak memory can be read from the kernel.
//
//   node --import tsx bench/layer.ts [--layer 1|2|3] [--runs N] [--flavour simd|relaxed|scalar]
//        [--threads N] [--relaxation A] [--skip-reference] [--python PATH] [--data DIR] [--json FILE]
//
// --layer 1: x0 -> y0 (N = 784 + bias, M = 300, P = 4000, ReLU; the benchmark),
//         2: y0 -> y1 (ReLU), 3: y1 -> y2 (linear). epsilon is 0.05 relative to ||Y||_F.
// --runs N alternates N solves of ours with N of the reference (the machine is shared: report
// the best and the median). --threads defaults to the solver's own default.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LayerSolver, type KernelOptions, type TrimResult, type TrimSettings } from '../src/index.ts';
import { readNpyFile } from '../src/io/npy.ts';
import type { KernelFlavour } from '../src/wasm/load.ts';
import { bestAndMedian, emitJson, fmt, formatTable, machineInfo, option, type MachineInfo } from './common.ts';
import {
  blasInfo, describeBlas, INSTALL_HINT, numpyMissing, referenceBaseline, runReference, type BlasInfo, type ReferenceRun,
} from './reference.ts';

const REPO = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const DEFAULT_DATA = path.resolve(REPO, '../shared/data/mnist-mlp');
const REFERENCE_SCRIPT = path.resolve(REPO, '../shared/reference/nettrim_ref.py');
const EPSILON = 0.05;

/** Targets of issue 2 for the layer solve. */
const TARGETS = { speedup: 2, l1RelativeDifference: 0.01, nnzExcess: 0.02, errorSlack: 1e-3, memoryOverInputs: 3 };

/** The reference counts a weight as zero below this (nettrim_ref.py: W[abs(W) < 1e-9] = 0). */
const REFERENCE_ZERO = 1e-9;
/** The reference's Omega in unscaled units (nettrim_ref.py main: act = Y > 1e-6). */
const ACTIVE_THRESHOLD = 1e-6;

interface LayerSpec { x: string; y: string; activation: 'relu' | 'linear' }
const LAYERS: Record<string, LayerSpec> = {
  1: { x: 'x0.npy', y: 'y0.npy', activation: 'relu' },
  2: { x: 'y0.npy', y: 'y1.npy', activation: 'relu' },
  3: { x: 'y1.npy', y: 'y2.npy', activation: 'linear' },
};

interface Options {
  layer: string; runs: number; dataDir: string; skipReference: boolean;
  /** The python3 that runs the reference (default /usr/bin/python3, Debian's numpy). */
  python: string;
  flavour?: KernelFlavour; threads?: number;
  /** The solver's over-relaxation setting; undefined = its default. */
  relaxation?: string;
}

/** What one child process reports about our solve. */
interface OursRun {
  flavour: string; threads: number;
  samples: number; inputSize: number; outputSize: number;
  seconds: number; iterations: number; status: string;
  /** Non-bias nonzeros as TrimResult counts them (exact zeros) and as the reference counts them. */
  nnz: number; nnzAbove1e9: number; nnzBias: number; weights: number;
  /** Sum of |w| including the bias row, as TrimResult.l1 and the reference's l1 (bias included). */
  l1: number;
  /** The solver's own account, and the same recomputed here in float64 from the returned weights. */
  relativeError: number; maxInactive: number;
  recomputedRelativeError: number; recomputedMaxInactive: number;
  /** max |Y|: the scale of the inactive violations. */
  maxAbsTarget: number;
  memory: OursMemory;
}

interface OursMemory {
  /** Bytes of the float32 X and Y as loaded. */
  inputBytes: number;
  /** Wasm linear memory after the solve (it only grows) and what the solve reserved in it. */
  wasmMemoryBytes: number; workspaceBytes: number;
  /** Peak RSS during the solve alone, over the RSS just before it (inputs already loaded). */
  solvePeakGrowthBytes: number;
  /** Peak RSS over loading and solving, over the RSS before the inputs were read. */
  processPeakGrowthBytes: number;
  /** Whether the kernel's peak-RSS counter could be reset between phases (Linux clear_refs). */
  peakResetWorked: boolean;
}

/** Smallest, median and largest of one quantity over the runs. */
interface Spread { min: number; median: number; max: number }

type Verdict = 'met' | 'NOT met' | 'not checked';
interface TargetCheck { target: string; value: string; verdict: Verdict }

interface Comparison {
  speedupBest: number; speedupMedian: number;
  /** (ours - reference) / reference. */
  l1RelativeDifference: number;
  nnzDifferencePercent: number;
  /** Reference iterations / ours. */
  iterationsRatio: number;
}

interface LayerReport {
  benchmark: 'layer';
  machine: MachineInfo;
  loadAverageAtEnd: number;
  layer: string; files: { x: string; y: string }; activation: string; epsilon: number; runs: number;
  ours: { runs: OursRun[]; seconds: Spread; solvePeakGrowthBytes: Spread; processPeakGrowthBytes: Spread };
  reference: { runs: ReferenceRun[]; seconds: Spread; peakRssBytes: Spread; blas: BlasInfo } | { skipped: string };
  comparison: Comparison | null;
  targets: TargetCheck[];
}

// ---------------------------------------------------------------------------------------------
// Child process: one solve of ours, with its memory read by the kernel's counters.

/** A field of /proc/self/status in bytes, or null off Linux. */
function procStatusBytes(field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const m = readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

function rssNow(): number {
  return procStatusBytes('VmRSS') ?? process.memoryUsage().rss;
}

/** The process's peak RSS so far (since the last reset). */
function peakRss(): number {
  return procStatusBytes('VmHWM') ?? process.resourceUsage().maxRSS * 1024;
}

/** Resets the peak RSS to the current RSS (Linux: write 5 to clear_refs), so a phase can be measured alone. */
function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/**
 * ||(W^T x + b - y)_Omega||_F / ||Y||_F and the largest W^T x + b - y on Omega^c, in float64,
 * from the returned weights: an account of the solution that does not trust the solver's own.
 */
function recomputeError(x: Float32Array, y: Float32Array, r: TrimResult, samples: number, relu: boolean) {
  const n = r.inputSize, m = r.outputSize;
  const acc = new Float64Array(m);
  let errSq = 0, ySq = 0, maxInactive = -Infinity, maxAbsTarget = 0;
  for (let p = 0; p < samples; p++) {
    if (r.bias) for (let j = 0; j < m; j++) acc[j] = r.bias[j];
    else acc.fill(0);
    for (let i = 0; i < n; i++) {
      const xi = x[p * n + i];
      if (xi === 0) continue;
      const row = i * m;
      for (let j = 0; j < m; j++) acc[j] += xi * r.weights[row + j];
    }
    for (let j = 0; j < m; j++) {
      const target = y[p * m + j], e = acc[j] - target;
      ySq += target * target;
      maxAbsTarget = Math.max(maxAbsTarget, Math.abs(target));
      if (!relu || target > ACTIVE_THRESHOLD) errSq += e * e;
      else maxInactive = Math.max(maxInactive, e);
    }
  }
  return { relativeError: Math.sqrt(errSq / ySq), maxInactive: maxInactive === -Infinity ? 0 : maxInactive, maxAbsTarget };
}

function countAbove(a: Float32Array, threshold: number): number {
  let c = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]) >= threshold) c++;
  return c;
}

async function childMain(o: Options): Promise<void> {
  const spec = LAYERS[o.layer];
  const kernelOptions: KernelOptions & { threads?: number } = { flavour: o.flavour, threads: o.threads };
  const solver = await LayerSolver.create(kernelOptions);
  collectGarbage();
  const baseline = rssNow(); // before the inputs are read: their arrays count as the solve's memory
  const loadResetWorked = resetPeakRss(); // forget the peak of starting up (tsx compiling this file)
  const [x, y] = await Promise.all([readNpyFile(path.join(o.dataDir, spec.x)), readNpyFile(path.join(o.dataDir, spec.y))]);
  const [samples, inputSize] = x.shape, outputSize = y.shape[1];
  collectGarbage(); // the file buffers are garbage now; do not charge them to the solve
  const loadPeak = peakRss();
  const beforeSolve = rssNow();
  const peakResetWorked = resetPeakRss();
  const r = solver.solve({ inputs: x.data, outputs: y.data, samples, inputSize, outputSize }, {
    epsilon: EPSILON, activation: spec.activation,
    ...(o.relaxation === undefined ? {} : { relaxation: o.relaxation === 'auto' ? 'auto' : Number(o.relaxation) }),
  } as Partial<TrimSettings>);
  const solvePeak = peakRss();
  const check = recomputeError(x.data, y.data, r, samples, spec.activation === 'relu');
  const run: OursRun = {
    flavour: solver.flavour, threads: (solver as { threads?: number }).threads ?? 1,
    samples, inputSize, outputSize,
    seconds: r.seconds, iterations: r.iterations, status: r.status,
    nnz: r.nnz, nnzAbove1e9: countAbove(r.weights, REFERENCE_ZERO), nnzBias: r.nnzBias, weights: r.weights.length,
    l1: r.l1, relativeError: r.relativeError, maxInactive: r.maxInactive,
    recomputedRelativeError: check.relativeError, recomputedMaxInactive: check.maxInactive, maxAbsTarget: check.maxAbsTarget,
    memory: {
      inputBytes: x.data.byteLength + y.data.byteLength,
      wasmMemoryBytes: r.memoryBytes, workspaceBytes: r.workspaceBytes,
      solvePeakGrowthBytes: solvePeak - beforeSolve,
      processPeakGrowthBytes: Math.max(loadPeak, solvePeak) - baseline,
      peakResetWorked: loadResetWorked && peakResetWorked,
    },
  };
  console.log(JSON.stringify(run));
  await (solver as { close?: () => Promise<void> }).close?.();
}

// ---------------------------------------------------------------------------------------------
// Parent: spawning ours and the reference, alternately.

// ---------------------------------------------------------------------------------------------
// Parent: ours and the reference, alternately, each in its own process.

function runOurs(o: Options): OursRun {
  const args = [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), '--child',
    '--layer', o.layer, '--data', o.dataDir,
    ...(o.flavour ? ['--flavour', o.flavour] : []), ...(o.threads ? ['--threads', String(o.threads)] : []),
    ...(o.relaxation ? ['--relaxation', o.relaxation] : [])];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(`our solve failed (exit ${child.status}): ${child.stdout}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as OursRun;
}

/** N solves of each, alternating, so both see the same moments of this shared machine. */
function runBoth(o: Options, reference: boolean): { ours: OursRun[]; refs: ReferenceRun[] } {
  const spec = LAYERS[o.layer];
  const baseline = reference ? referenceBaseline(o.python, o.dataDir) : 0;
  const ours: OursRun[] = [], refs: ReferenceRun[] = [];
  for (let run = 1; run <= o.runs; run++) {
    ours.push(runOurs(o));
    console.error(`run ${run}/${o.runs}: ours ${fmt(ours[ours.length - 1].seconds, 2)} s`);
    if (!reference) continue;
    refs.push(runReference({
      python: o.python, script: REFERENCE_SCRIPT, dataDir: o.dataDir,
      x: spec.x, y: spec.y, gain: EPSILON, linear: spec.activation === 'linear',
    }, baseline));
    console.error(`run ${run}/${o.runs}: reference ${fmt(refs[refs.length - 1].seconds, 2)} s`);
  }
  return { ours, refs };
}

function spread(values: number[]): Spread {
  const { best, median } = bestAndMedian(values);
  return { min: best, median, max: Math.max(...values) };
}

// ---------------------------------------------------------------------------------------------
// Comparison and targets: like with like (both l1 include the bias; both nnz exclude it and count
// |w| >= 1e-9), solution quality from the first run (both solvers are deterministic).

function compare(ours: OursRun, ref: ReferenceRun, oursSeconds: Spread, refSeconds: Spread): Comparison {
  return {
    speedupBest: refSeconds.min / oursSeconds.min,
    speedupMedian: refSeconds.median / oursSeconds.median,
    l1RelativeDifference: (ours.l1 - ref.l1) / ref.l1,
    nnzDifferencePercent: (100 * (ours.nnzAbove1e9 - ref.nnz)) / ref.nnz,
    iterationsRatio: ref.iterations / ours.iterations,
  };
}

function checkTargets(ours: OursRun, memory: Spread, c: Comparison | null): TargetCheck[] {
  const verdict = (ok: boolean | null): Verdict => (ok === null ? 'not checked' : ok ? 'met' : 'NOT met');
  const errorLimit = EPSILON * (1 + TARGETS.errorSlack);
  const worstError = Math.max(ours.relativeError, ours.recomputedRelativeError);
  const input = ours.memory.inputBytes;
  const lower = c && c.l1RelativeDifference < 0 ? ' (ours is lower)' : '';
  return [
    {
      target: `speed-up >= ${TARGETS.speedup}x (median times)`,
      value: c ? `${fmt(c.speedupMedian, 2)}x median, ${fmt(c.speedupBest, 2)}x best` : 'no reference',
      verdict: verdict(c && c.speedupMedian >= TARGETS.speedup),
    },
    {
      target: `|l1 difference| <= ${100 * TARGETS.l1RelativeDifference}%`,
      value: c ? `${fmt(100 * c.l1RelativeDifference, 3)}%${lower}` : 'no reference',
      verdict: verdict(c && Math.abs(c.l1RelativeDifference) <= TARGETS.l1RelativeDifference),
    },
    {
      target: `nnz <= reference + ${100 * TARGETS.nnzExcess}%`,
      value: c ? `${fmt(c.nnzDifferencePercent, 2)}%` : 'no reference',
      verdict: verdict(c && c.nnzDifferencePercent <= 100 * TARGETS.nnzExcess),
    },
    {
      target: `relative error <= ${errorLimit} (worst of solver and float64 recheck)`,
      value: worstError.toPrecision(7),
      verdict: verdict(worstError <= errorLimit),
    },
    {
      target: `peak memory <= ${TARGETS.memoryOverInputs}x inputs (median RSS growth during the solve)`,
      value: `${fmt(memory.median / input, 2)}x (runs ${fmt(memory.min / input, 2)}-${fmt(memory.max / input, 2)}x; ` +
        `wasm memory ${fmt(ours.memory.wasmMemoryBytes / input, 2)}x; RSS growth with loading the inputs ` +
        `${fmt(ours.memory.processPeakGrowthBytes / input, 2)}x)`,
      verdict: verdict(memory.median <= TARGETS.memoryOverInputs * input),
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Output.

const MB = (bytes: number) => `${fmt(bytes / 1e6, 1)} MB`;
const seconds = (s: Spread) => `${fmt(s.min, 2)} / ${fmt(s.median, 2)}`;

function printReport(rep: LayerReport): void {
  const m = rep.machine;
  const o = rep.ours.runs[0];
  console.log(`layer ${rep.layer}: ${rep.files.x} -> ${rep.files.y} (${rep.activation}), P = ${o.samples}, ` +
    `N = ${o.inputSize} + bias, M = ${o.outputSize}, epsilon ${rep.epsilon} relative, ${rep.runs} run(s) each, alternating`);
  console.log(`${m.cpu} (${m.cpuFamilyModel}), ${m.cores} cores, Node ${m.node}, commit ${m.revision}, load ${m.loadAverage} -> ${rep.loadAverageAtEnd} (shared machine)`);
  console.log(`ours: wasm ${o.flavour}, ${o.threads} thread(s), a fresh process per solve`);
  const ref = 'skipped' in rep.reference ? null : rep.reference;
  if (ref) console.log(`reference: numpy ${ref.blas.numpy ?? '?'}, ${describeBlas(ref.blas)}`);
  else console.log(`reference: SKIPPED: ${(rep.reference as { skipped: string }).skipped}`);
  console.log('');
  const r = ref?.runs[0], c = rep.comparison;
  const relInactive = (v: number) => `${v.toPrecision(4)} (${fmt((100 * v) / o.maxAbsTarget, 3)}% of max|Y|)`;
  const rows: string[][] = [
    ['time best / median (s)', seconds(rep.ours.seconds), ref ? seconds(ref.seconds) : '-',
      c ? `${fmt(c.speedupBest, 2)}x / ${fmt(c.speedupMedian, 2)}x faster` : ''],
    ['time of each run (s)', rep.ours.runs.map((x) => fmt(x.seconds, 2)).join(' '), ref ? ref.runs.map((x) => fmt(x.seconds, 2)).join(' ') : '-', ''],
    ['iterations', String(o.iterations), r ? String(r.iterations) : '-', `ours: ${o.status}`],
    ['nnz (non-bias, |w| >= 1e-9)', String(o.nnzAbove1e9), r ? String(r.nnz) : '-', c ? `${fmt(c.nnzDifferencePercent, 2)}%` : ''],
    ['nnz exact zeros / bias nnz', `${o.nnz} / ${o.nnzBias}`, '-', `of ${o.weights} weights`],
    ['l1 (bias included)', fmt(o.l1, 3), r ? fmt(r.l1, 3) : '-', c ? `${fmt(100 * c.l1RelativeDifference, 3)}%` : ''],
    ['relative error (solver)', o.relativeError.toPrecision(6), r ? r.relative_error.toPrecision(6) : '-', `epsilon ${EPSILON}`],
    ['relative error (float64 recheck)', o.recomputedRelativeError.toPrecision(6), '-', ''],
    ['max inactive violation', relInactive(o.recomputedMaxInactive), r ? relInactive(r.max_inactive) : '-', ''],
    ['input arrays (float32 X, Y)', MB(o.memory.inputBytes), '-', ''],
    ['wasm memory / workspace', `${MB(o.memory.wasmMemoryBytes)} / ${MB(o.memory.workspaceBytes)}`, '-', ''],
    ['peak RSS growth, solve (median)', MB(rep.ours.solvePeakGrowthBytes.median), '-',
      `runs ${MB(rep.ours.solvePeakGrowthBytes.min)} - ${MB(rep.ours.solvePeakGrowthBytes.max)}`],
    ['peak RSS growth, load + solve', MB(rep.ours.processPeakGrowthBytes.median), r ? MB(r.peakRssBytes - r.baselineRssBytes) : '-',
      'over the runtime before reading inputs'],
    ['peak RSS of the process', '-', ref ? MB(ref.peakRssBytes.median) : '-', r ? `python+numpy alone ${MB(r.baselineRssBytes)}` : ''],
  ];
  console.log(formatTable(['', 'ours', 'reference', 'ours vs reference'], rows));
  if (!o.memory.peakResetWorked) console.log('(peak RSS could not be reset between phases: the solve figure includes loading)');
  console.log('');
  for (const t of rep.targets) console.log(`target ${t.target}: ${t.verdict} (${t.value})`);
  console.log('');
}

// ---------------------------------------------------------------------------------------------

function parseOptions(argv: string[]): Options {
  const layer = option(argv, '--layer') ?? '1';
  if (!(layer in LAYERS)) throw new Error(`--layer must be 1, 2 or 3, got ${layer}`);
  const runs = Number(option(argv, '--runs') ?? 1);
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs must be an integer >= 1`);
  const threads = option(argv, '--threads');
  return {
    layer, runs,
    dataDir: path.resolve(option(argv, '--data') ?? DEFAULT_DATA),
    skipReference: argv.includes('--skip-reference'),
    python: option(argv, '--python') ?? '/usr/bin/python3',
    flavour: option(argv, '--flavour') as KernelFlavour | undefined,
    threads: threads === undefined ? undefined : Number(threads),
    relaxation: option(argv, '--relaxation'),
  };
}

/** Null when the reference can run; else why not (said in the table and the JSON). */
function referenceUnavailable(o: Options): string | null {
  if (o.skipReference) return 'skipped on request (--skip-reference)';
  const missing = numpyMissing(o.python);
  if (missing) return `${missing}; ${INSTALL_HINT}`;
  return existsSync(REFERENCE_SCRIPT) ? null : `${REFERENCE_SCRIPT} not found`;
}

async function main(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  if (argv.includes('--child')) return childMain(o);
  const spec = LAYERS[o.layer];
  for (const f of [spec.x, spec.y]) {
    if (!existsSync(path.join(o.dataDir, f))) throw new Error(`${path.join(o.dataDir, f)} not found (--data DIR sets the folder)`);
  }
  const machine = machineInfo();
  const skipped = referenceUnavailable(o);
  if (skipped) console.error(`reference: ${skipped}\nrunning ours alone`);
  const { ours, refs } = runBoth(o, !skipped);
  const oursSeconds = spread(ours.map((r) => r.seconds));
  const solveMemory = spread(ours.map((r) => r.memory.solvePeakGrowthBytes));
  const reference = skipped ? null : { runs: refs, seconds: spread(refs.map((r) => r.seconds)), peakRssBytes: spread(refs.map((r) => r.peakRssBytes)), blas: blasInfo(o.python) };
  const comparison = reference ? compare(ours[0], refs[0], oursSeconds, reference.seconds) : null;
  const report: LayerReport = {
    benchmark: 'layer', machine, loadAverageAtEnd: Number(os.loadavg()[0].toFixed(2)),
    layer: o.layer, files: { x: path.join(o.dataDir, spec.x), y: path.join(o.dataDir, spec.y) },
    activation: spec.activation, epsilon: EPSILON, runs: o.runs,
    ours: {
      runs: ours, seconds: oursSeconds, solvePeakGrowthBytes: solveMemory,
      processPeakGrowthBytes: spread(ours.map((r) => r.memory.processPeakGrowthBytes)),
    },
    reference: reference ?? { skipped: skipped! },
    comparison,
    targets: checkTargets(ours[0], solveMemory, comparison),
  };
  printReport(report);
  emitJson(report, argv);
}

await main(process.argv.slice(2));

// The mnist-mlp layer solve, ours (LayerSolver, wasm) and the authors' algorithm in NumPy
// (../shared/reference/nettrim_ref.py), side by side in one run on the same files: time,
// iterations, nnz, l1, achieved error, largest inactive violation and peak memory, against the
// targets of issue 2. Each solve runs in a fresh child process so its peak memory can be read.
//
//   node --import tsx bench/layer.ts [--layer 1|2|3] [--runs N] [--flavour simd|relaxed|scalar]
//        [--threads N] [--skip-reference] [--data DIR] [--json FILE]
//
// --layer 1: x0 -> y0 (N = 784 + bias, M = 300, P = 4000, ReLU; the benchmark),
//         2: y0 -> y1 (ReLU), 3: y1 -> y2 (linear). epsilon is 0.05 relative to ||Y||_F.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LayerSolver, type KernelOptions, type TrimResult } from '../src/index.ts';
import { readNpyFile } from '../src/io/npy.ts';
import type { KernelFlavour } from '../src/wasm/load.ts';
import { bestAndMedian, emitJson, fmt, formatTable, machineInfo, option, type MachineInfo } from './common.ts';

const REPO = path.resolve(fileURLToPath(new URL('..', import.meta.url)));
const DEFAULT_DATA = path.resolve(REPO, '../shared/data/mnist-mlp');
const REFERENCE_SCRIPT = path.resolve(REPO, '../shared/reference/nettrim_ref.py');
const PYTHON = '/usr/bin/python3';
const EPSILON = 0.05;

// Targets of issue 2 for the layer solve.
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
  flavour?: KernelFlavour; threads?: number;
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
  /** Whether the kernel's peak-RSS counter could be reset before the solve (Linux clear_refs). */
  peakResetWorked: boolean;
}

/** What one reference process reports (its JSON line), plus its memory. */
interface ReferenceRun {
  seconds: number; iterations: number; nnz: number; weights: number; l1: number;
  relative_error: number; max_inactive: number;
  /** Peak RSS of the process, and the peak RSS of python3 importing numpy and scipy alone. */
  peakRssBytes: number; baselineRssBytes: number;
}

interface BlasInfo { [key: string]: unknown }

type Verdict = 'met' | 'NOT met' | 'not checked';
interface TargetCheck { target: string; value: string; verdict: Verdict }

interface LayerReport {
  benchmark: 'layer';
  machine: MachineInfo;
  loadAverageAtEnd: number;
  layer: string; files: { x: string; y: string }; activation: string; epsilon: number; runs: number;
  ours: { runs: OursRun[]; bestSeconds: number; medianSeconds: number };
  reference: { runs: ReferenceRun[]; bestSeconds: number; medianSeconds: number; blas: BlasInfo | null } | { skipped: string };
  comparison: {
    speedupBest: number; speedupMedian: number; l1RelativeDifference: number;
    nnzDifferencePercent: number; iterationsRatio: number;
  } | null;
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
  let errSq = 0, ySq = 0, maxInactive = -Infinity;
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
      if (!relu || target > ACTIVE_THRESHOLD) errSq += e * e;
      else maxInactive = Math.max(maxInactive, e);
    }
  }
  return { relativeError: Math.sqrt(errSq / ySq), maxInactive: maxInactive === -Infinity ? 0 : maxInactive };
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
  const [x, y] = await Promise.all([readNpyFile(path.join(o.dataDir, spec.x)), readNpyFile(path.join(o.dataDir, spec.y))]);
  const [samples, inputSize] = x.shape, outputSize = y.shape[1];
  collectGarbage(); // the file buffers are garbage now; do not charge them to the solve
  const loadPeak = peakRss();
  const beforeSolve = rssNow();
  const peakResetWorked = resetPeakRss();
  const r = solver.solve({ inputs: x.data, outputs: y.data, samples, inputSize, outputSize }, { epsilon: EPSILON, activation: spec.activation });
  const solvePeak = peakRss();
  const check = recomputeError(x.data, y.data, r, samples, spec.activation === 'relu');
  const run: OursRun = {
    flavour: solver.flavour, threads: (solver as { threads?: number }).threads ?? 1,
    samples, inputSize, outputSize,
    seconds: r.seconds, iterations: r.iterations, status: r.status,
    nnz: r.nnz, nnzAbove1e9: countAbove(r.weights, REFERENCE_ZERO), nnzBias: r.nnzBias, weights: r.weights.length,
    l1: r.l1, relativeError: r.relativeError, maxInactive: r.maxInactive,
    recomputedRelativeError: check.relativeError, recomputedMaxInactive: check.maxInactive,
    memory: {
      inputBytes: x.data.byteLength + y.data.byteLength,
      wasmMemoryBytes: r.memoryBytes, workspaceBytes: r.workspaceBytes,
      solvePeakGrowthBytes: solvePeak - beforeSolve,
      processPeakGrowthBytes: Math.max(loadPeak, solvePeak) - baseline,
      peakResetWorked,
    },
  };
  console.log(JSON.stringify(run));
  await (solver as { close?: () => Promise<void> }).close?.();
}

// ---------------------------------------------------------------------------------------------
// Parent: spawning ours and the reference, alternately.

function runOurs(o: Options): OursRun {
  const args = [...process.execArgv, '--expose-gc', fileURLToPath(import.meta.url), '--child',
    '--layer', o.layer, '--data', o.dataDir,
    ...(o.flavour ? ['--flavour', o.flavour] : []), ...(o.threads ? ['--threads', String(o.threads)] : [])];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(`our solve failed (exit ${child.status}): ${child.stdout}`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as OursRun;
}

/**
 * The environment numpy is benchmarked in: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are set on some
 * machines here for old OpenBLAS builds and slow a current one down (/work/.library/env), so both go.
 */
function referenceEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** Null when python3 with numpy and scipy is there; else the reason. */
function numpyMissing(): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import numpy, scipy.linalg'], { encoding: 'utf8', env: referenceEnv() });
  return probe.status === 0 ? null : `${PYTHON} cannot import numpy and scipy: ${probe.stderr.trim().split('\n').pop()}`;
}

// Which BLAS numpy runs, asked the way threadpoolctl does: the loaded libraries in /proc/self/maps,
// and OpenBLAS's own openblas_get_config / get_corename / get_num_threads through ctypes.
const BLAS_PROBE = `
import ctypes, json, numpy, scipy.linalg
info = {"numpy": numpy.__version__}
try:
    import threadpoolctl
    info["threadpoolctl"] = threadpoolctl.threadpool_info()
except ImportError:
    pass
try:
    info["show_config_blas"] = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
except TypeError:
    info["show_config_blas"] = getattr(numpy.__config__, "blas_opt_info", None)
libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.lower() and l.split()[-1].startswith("/")})
info["loaded_blas_libraries"] = libs
for lib_path in libs:
    try:
        lib = ctypes.CDLL(lib_path)
        for name in ("openblas_get_config", "openblas_get_corename"):
            fn = getattr(lib, name); fn.restype = ctypes.c_char_p
            info[name] = fn().decode()
        info["openblas_threads"] = lib.openblas_get_num_threads()
        break
    except (OSError, AttributeError):
        continue
print(json.dumps(info))
`;

function blasInfo(): BlasInfo | null {
  const probe = spawnSync(PYTHON, ['-c', BLAS_PROBE], { encoding: 'utf8', env: referenceEnv() });
  return probe.status === 0 ? (JSON.parse(probe.stdout) as BlasInfo) : { error: probe.stderr.trim() };
}

const TIME = '/usr/bin/time';
// Without GNU time: run the command as a child of python and read the children's ru_maxrss.
const RUSAGE_WRAPPER = `
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
sys.stderr.write("Maximum resident set size (kbytes): %d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
`;

/** Runs a command, returning its stdout and its peak RSS in bytes. */
function runMeasured(command: string[], cwd: string): { stdout: string; peakRssBytes: number } {
  const [file, args] = existsSync(TIME) ? [TIME, ['-v', ...command]] : [PYTHON, ['-c', RUSAGE_WRAPPER, ...command]];
  const child = spawnSync(file, args, { cwd, encoding: 'utf8', env: referenceEnv(), maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(`${command.join(' ')} failed (exit ${child.status}): ${child.stderr}`);
  const kb = child.stderr.match(/Maximum resident set size \(kbytes\): (\d+)/);
  if (!kb) throw new Error(`no peak RSS in the output of ${file}`);
  return { stdout: child.stdout, peakRssBytes: Number(kb[1]) * 1024 };
}

/** python3 importing what the reference imports, and nothing else: the baseline of its RSS. */
function referenceBaseline(dataDir: string): number {
  return runMeasured([PYTHON, '-c', 'import json, numpy, scipy.linalg'], dataDir).peakRssBytes;
}

function runReference(o: Options, baselineRssBytes: number): ReferenceRun {
  const spec = LAYERS[o.layer];
  // The brief's command, run in the data folder with the file names as given.
  const command = [PYTHON, REFERENCE_SCRIPT, spec.x, spec.y, String(EPSILON), ...(spec.activation === 'linear' ? ['--linear'] : [])];
  const { stdout, peakRssBytes } = runMeasured(command, o.dataDir);
  const line = stdout.trim().split('\n').pop()!;
  return { ...(JSON.parse(line) as Omit<ReferenceRun, 'peakRssBytes' | 'baselineRssBytes'>), peakRssBytes, baselineRssBytes };
}

// ---------------------------------------------------------------------------------------------
// Comparison and targets.

function compare(ours: OursRun, ref: ReferenceRun, oursTimes: number[], refTimes: number[]) {
  const o = bestAndMedian(oursTimes), r = bestAndMedian(refTimes);
  return {
    speedupBest: r.best / o.best,
    speedupMedian: r.median / o.median,
    l1RelativeDifference: (ours.l1 - ref.l1) / ref.l1,
    // like with like: both count non-bias weights with |w| >= 1e-9
    nnzDifferencePercent: (100 * (ours.nnzAbove1e9 - ref.nnz)) / ref.nnz,
    iterationsRatio: ref.iterations / ours.iterations,
  };
}

function checkTargets(ours: OursRun, comparison: LayerReport['comparison']): TargetCheck[] {
  const verdict = (ok: boolean | null): Verdict => (ok === null ? 'not checked' : ok ? 'met' : 'NOT met');
  const errorLimit = EPSILON * (1 + TARGETS.errorSlack);
  const worstError = Math.max(ours.relativeError, ours.recomputedRelativeError);
  const memoryRatio = ours.memory.solvePeakGrowthBytes / ours.memory.inputBytes;
  const c = comparison;
  return [
    { target: `speed-up >= ${TARGETS.speedup}x (best times)`, value: c ? `${fmt(c.speedupBest, 2)}x` : '-', verdict: verdict(c && c.speedupBest >= TARGETS.speedup) },
    { target: `|l1 difference| <= ${100 * TARGETS.l1RelativeDifference}%`, value: c ? `${fmt(100 * c.l1RelativeDifference, 3)}%` : '-', verdict: verdict(c && Math.abs(c.l1RelativeDifference) <= TARGETS.l1RelativeDifference) },
    { target: `nnz <= reference + ${100 * TARGETS.nnzExcess}%`, value: c ? `${fmt(c.nnzDifferencePercent, 2)}%` : '-', verdict: verdict(c && c.nnzDifferencePercent <= 100 * TARGETS.nnzExcess) },
    { target: `relative error <= ${errorLimit}`, value: worstError.toPrecision(7), verdict: verdict(worstError <= errorLimit) },
    {
      target: `peak memory of the solve <= ${TARGETS.memoryOverInputs}x inputs (RSS growth during the solve)`,
      value: `${fmt(memoryRatio, 2)}x (wasm memory ${fmt(ours.memory.wasmMemoryBytes / ours.memory.inputBytes, 2)}x; ` +
        `with loading the inputs ${fmt(ours.memory.processPeakGrowthBytes / ours.memory.inputBytes, 2)}x)`,
      verdict: verdict(memoryRatio <= TARGETS.memoryOverInputs),
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Output.

const MB = (bytes: number) => `${fmt(bytes / 1e6, 1)} MB`;

function printReport(rep: LayerReport): void {
  const m = rep.machine;
  const oursFirst = rep.ours.runs[0];
  console.log(`layer ${rep.layer}: ${rep.files.x} -> ${rep.files.y} (${rep.activation}), P = ${oursFirst.samples}, ` +
    `N = ${oursFirst.inputSize} + bias, M = ${oursFirst.outputSize}, epsilon ${rep.epsilon} relative, ${rep.runs} run(s) each`);
  console.log(`${m.cpu} (${m.cpuFamilyModel}), ${m.cores} cores, Node ${m.node}, load ${m.loadAverage} -> ${rep.loadAverageAtEnd} (shared machine)`);
  console.log(`ours: wasm ${oursFirst.flavour}, ${oursFirst.threads} thread(s)`);
  const ref = 'skipped' in rep.reference ? null : rep.reference;
  if (!ref) console.log(`reference: SKIPPED: ${(rep.reference as { skipped: string }).skipped}`);
  else console.log(`reference: numpy ${ref.blas?.numpy ?? '?'}, BLAS ${describeBlas(ref.blas)}`);
  console.log('');
  const r0 = ref?.runs[0];
  const rows: string[][] = [
    ['time best (s)', fmt(rep.ours.bestSeconds, 2), ref ? fmt(ref.bestSeconds, 2) : '-', rep.comparison ? `${fmt(rep.comparison.speedupBest, 2)}x faster` : ''],
    ['time median (s)', fmt(rep.ours.medianSeconds, 2), ref ? fmt(ref.medianSeconds, 2) : '-', rep.comparison ? `${fmt(rep.comparison.speedupMedian, 2)}x faster` : ''],
    ['iterations', String(oursFirst.iterations), r0 ? String(r0.iterations) : '-', `status ${oursFirst.status}`],
    ['nnz (non-bias, |w| >= 1e-9)', String(oursFirst.nnzAbove1e9), r0 ? String(r0.nnz) : '-',
      rep.comparison ? `${fmt(rep.comparison.nnzDifferencePercent, 2)}%` : ''],
    ['nnz exact (TrimResult) / bias', `${oursFirst.nnz} / ${oursFirst.nnzBias}`, '-', `of ${oursFirst.weights} weights`],
    ['l1 (bias included)', fmt(oursFirst.l1, 3), r0 ? fmt(r0.l1, 3) : '-',
      rep.comparison ? `${fmt(100 * rep.comparison.l1RelativeDifference, 3)}%` : ''],
    ['relative error (solver)', oursFirst.relativeError.toPrecision(6), r0 ? r0.relative_error.toPrecision(6) : '-', `limit ${EPSILON}`],
    ['relative error (float64 recheck)', oursFirst.recomputedRelativeError.toPrecision(6), '-', ''],
    ['max inactive violation', oursFirst.maxInactive.toPrecision(4), r0 ? r0.max_inactive.toPrecision(4) : '-', `recheck ${oursFirst.recomputedMaxInactive.toPrecision(4)}`],
    ['input arrays (float32 X, Y)', MB(oursFirst.memory.inputBytes), '-', ''],
    ['wasm memory / workspace', `${MB(oursFirst.memory.wasmMemoryBytes)} / ${MB(oursFirst.memory.workspaceBytes)}`, '-', ''],
    ['peak RSS growth, solve only', MB(oursFirst.memory.solvePeakGrowthBytes), '-', oursFirst.memory.peakResetWorked ? '' : '(peak not resettable: includes loading)'],
    ['peak RSS growth, load + solve', MB(oursFirst.memory.processPeakGrowthBytes), r0 ? MB(r0.peakRssBytes - r0.baselineRssBytes) : '-', 'over the runtime before reading inputs'],
    ['peak RSS of the process', '-', r0 ? MB(r0.peakRssBytes) : '-', r0 ? `python+numpy alone ${MB(r0.baselineRssBytes)}` : ''],
  ];
  console.log(formatTable(['', 'ours', 'reference', 'ours vs reference'], rows));
  console.log('');
  for (const t of rep.targets) console.log(`target ${t.target}: ${t.verdict} (${t.value})`);
  console.log('');
}

function describeBlas(b: BlasInfo | null): string {
  if (!b) return '?';
  if (typeof b.openblas_get_config === 'string') {
    return `OpenBLAS (${b.openblas_get_config}; core ${b.openblas_get_corename}, ${b.openblas_threads} threads)`;
  }
  const libs = b.loaded_blas_libraries as string[] | undefined;
  return libs?.length ? libs.join(', ') : JSON.stringify(b.show_config_blas ?? b);
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
    flavour: option(argv, '--flavour') as KernelFlavour | undefined,
    threads: threads === undefined ? undefined : Number(threads),
  };
}

async function main(argv: string[]): Promise<void> {
  const o = parseOptions(argv);
  if (argv.includes('--child')) return childMain(o);
  const spec = LAYERS[o.layer];
  for (const f of [spec.x, spec.y]) {
    if (!existsSync(path.join(o.dataDir, f))) throw new Error(`${path.join(o.dataDir, f)} not found (--data DIR sets the folder)`);
  }
  const machine = machineInfo();
  let skipped = o.skipReference ? 'skipped on request (--skip-reference)' : numpyMissing();
  if (skipped && !o.skipReference) {
    console.error(`reference: ${skipped}.\n  Install NumPy and SciPy to compare: apt-get install python3-numpy python3-scipy\n  Running ours alone.`);
  }
  if (!skipped && !existsSync(REFERENCE_SCRIPT)) skipped = `${REFERENCE_SCRIPT} not found`;
  const baseline = skipped ? 0 : referenceBaseline(o.dataDir);

  // Alternate ours and the reference so both see the same moments of this shared machine.
  const ours: OursRun[] = [], refs: ReferenceRun[] = [];
  for (let run = 1; run <= o.runs; run++) {
    console.error(`run ${run}/${o.runs}: ours ...`);
    ours.push(runOurs(o));
    console.error(`  ours ${fmt(ours[ours.length - 1].seconds, 2)} s`);
    if (!skipped) {
      console.error(`run ${run}/${o.runs}: reference ...`);
      refs.push(runReference(o, baseline));
      console.error(`  reference ${fmt(refs[refs.length - 1].seconds, 2)} s`);
    }
  }
  const oursTimes = ours.map((r) => r.seconds), refTimes = refs.map((r) => r.seconds);
  const comparison = skipped ? null : compare(ours[0], refs[0], oursTimes, refTimes);
  const o1 = bestAndMedian(oursTimes);
  const report: LayerReport = {
    benchmark: 'layer', machine, loadAverageAtEnd: Number(os.loadavg()[0].toFixed(2)),
    layer: o.layer, files: { x: path.join(o.dataDir, spec.x), y: path.join(o.dataDir, spec.y) },
    activation: spec.activation, epsilon: EPSILON, runs: o.runs,
    ours: { runs: ours, bestSeconds: o1.best, medianSeconds: o1.median },
    reference: skipped ? { skipped } : { runs: refs, ...renameBest(bestAndMedian(refTimes)), blas: blasInfo() },
    comparison,
    targets: checkTargets(ours[0], comparison),
  };
  printReport(report);
  emitJson(report, argv);
}

function renameBest(s: { best: number; median: number }) {
  return { bestSeconds: s.best, medianSeconds: s.median };
}

await main(process.argv.slice(2));

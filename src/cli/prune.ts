// `nettrim prune MODEL.onnx --calib X.npy [...]`: prune a whole network, print a table, write the
// pruned model (and optionally a JSON report). Bad input: a message, exit code 1, nothing written.
// MODEL may also be a TensorFlow.js Layers model.json (or its directory): the pruned model is then
// a directory with model.json and its weight shards.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { checkOutputPath, writeFileAtomic } from '../io/atomic.ts';
import { InputError } from '../errors.ts';
import { readModel } from '../onnx/model.ts';
import { readFeeds, readLabels } from '../prune/files.ts';
import { formatReport, pruneModel, type PruneOptions } from '../prune/index.ts';
import { DEFAULT_PRUNE_SETTINGS, type ProgressEvent, type PruneReport, type PruneSettings } from '../prune/types.ts';
import type { ReportFigures } from '../report/figures.ts';
import { isHtmlPath, renderHtmlReport } from '../report/html.ts';
import { parseTopology } from '../tfjs/topology.ts';
import { pruneLayersModel, readLayersModel } from '../tfjs/prune.ts';
import { defaultLayersOutput, encodeLayersModel, layersOutputPaths, writeLayersModel } from '../tfjs/write.ts';
import { reportFailure } from './failure.ts';
import { clampThreads } from './threads.ts';

type Bar = cliProgress.SingleBar;

interface PruneFlags {
  calib: string[];
  epsilon?: number;
  sparsity?: number;
  scheme: PruneSettings['scheme'];
  allocation: PruneSettings['allocation'];
  gamma: number;
  out?: string;
  report: string[];
  eval: string[];
  labels?: string;
  magnitudeOut?: string;
  maxColumns: number;
  batchSize: number;
  seed: number;
  maxIterations?: number;
  threads?: number;
  refit?: boolean;
  refitBounds: PruneSettings['refitBounds'];
  trimSupports: boolean;
  weightFormat: PruneSettings['weightFormat'];
  structure: PruneSettings['structure'];
  keep?: number | number[];
  keepFlops?: number;
  neuronMultiple?: number;
  progress: boolean;
  quiet: boolean;
  progressEvery: number;
  verbose: boolean;
}

export function registerPruneCommand(program: Command): void {
  const d = DEFAULT_PRUNE_SETTINGS;
  program
    .command('prune')
    .description('prune the Gemm, MatMul and Conv layers of an ONNX model, or the Dense and Conv2D layers of a TensorFlow.js Layers model, with Net-Trim (no retraining)')
    .argument('<model>', 'trained model: .onnx, or a TensorFlow.js model.json (or its directory)')
    .requiredOption('--calib <file>', 'calibration inputs, .npy float32 with samples on the first axis; NAME=FILE.npy per input for several inputs (repeatable)', collect, [])
    .option('--epsilon <g>', `allowed relative discrepancy per layer, epsilon = g ||Y||_F (default ${d.epsilon})`, number('--epsilon'))
    .option('--sparsity <s>', 'instead of --epsilon: remove this fraction of the prunable weights network-wide, e.g. 0.9', number('--sparsity'))
    .addOption(new Option('--scheme <scheme>', 'parallel: layers independent; cascade: each layer fed by the pruned network').choices(['parallel', 'cascade']).default(d.scheme))
    .addOption(new Option('--allocation <rule>', 'with --sparsity (parallel scheme): sensitivity: per-layer epsilons from each layer\'s measured effect on the outputs; uniform: one epsilon for all').choices(['sensitivity', 'uniform']).default(d.allocation))
    .option('--gamma <gamma>', 'cascade: epsilon_l = sqrt(gamma) ||(W0^T Xhat - Y)_Omega||_F', number('--gamma'), d.gamma)
    .option('--out <file>', 'pruned model (default: MODEL.pruned.onnx beside the input; TensorFlow.js: a directory, default MODEL.pruned/ beside model.json, or a NAME.json path)')
    .option('--report <file>', 'write the report here: a self-contained HTML page for .html/.htm, JSON otherwise (repeatable, e.g. --report r.json --report r.html)', collect, [])
    .option('--eval <file>', 'held-out inputs for top-1 accuracy, .npy (NAME=FILE.npy per input; repeatable)', collect, [])
    .option('--labels <file>', 'class labels of the --eval inputs, .npy: N class indices or N x K one-hot')
    .option('--magnitude-out <file>', 'also write the magnitude-pruning baseline at the same per-layer counts')
    .option('--max-columns <n>', 'most program columns (samples x positions) per layer', integer('--max-columns'), d.maxColumns)
    .option('--batch-size <n>', 'samples per onnxruntime (or TensorFlow.js) call', integer('--batch-size'), d.batchSize)
    .option('--seed <n>', 'seed of the convolution position sampling', integer('--seed'), d.seed)
    .option('--max-iterations <n>', 'ADMM iteration cap per layer program', integer('--max-iterations'))
    .option('--threads <n>', 'threads for the solves (default: the cores); independent layers run side by side when that is faster', integer('--threads'))
    .option('--refit', 'after pruning, refit the kept weights by least squares (same nonzero counts; the default)')
    .option('--no-refit', 'return Net-Trim\'s own solution: no least-squares refit of the kept weights')
    .option('--no-trim-supports', 'with --sparsity: only Net-Trim\'s own supports, not also each gain\'s trimmed from the one below (allocate-trim.ts)')
    .addOption(new Option('--refit-bounds <how>', 'outputs the activation clipped: soft (the refit may push them past the clip point at the price of their squared excess) or hard (the program\'s bounds hold)').choices(['soft', 'hard']).default(d.refitBounds))
    .option('--weight-format <format>', 'ONNX: how the written files store the pruned weights: sparse (sparse_initializer with the smallest index type onnxruntime loads), sparse-int64 (int64 indices, as the ONNX checker wants) or dense', d.weightFormat)
    .addOption(new Option('--structure <what>', 'weights: single weights (the l1 program); neurons: whole hidden neurons and conv channels (the group program), a smaller model').choices(['weights', 'neurons']).default('weights'))
    .option('--keep <f>', 'with --structure neurons: keep this fraction of the hidden neurons/channels, e.g. 0.5, or one fraction per layer whose neurons can go, in model order, e.g. 0.48,1 (then --epsilon or --sparsity also prune single weights inside the kept ones)', fractions('--keep'))
    .option('--keep-flops <f>', 'with --structure neurons, instead of --keep: keep this fraction of the multiply-adds of the prunable layers', number('--keep-flops'))
    .option('--neuron-multiple <n>', 'with --keep or --keep-flops: round each layer\'s neuron count up to a multiple of n, and keep no more (16: onnxruntime\'s CPU panel width on AVX-512)', integer('--neuron-multiple'))
    .option('--no-progress', 'no progress bars or stage lines; a long run still prints a status line every --progress-every seconds')
    .option('--quiet', 'nothing on stderr but errors', false)
    .option('--progress-every <s>', 'seconds between status lines when stderr is not a terminal or with --no-progress', number('--progress-every'), 10)
    .option('--verbose', 'on errors, also print the runtimes\' own messages and the stack', false)
    .action(async (model: string, flags: PruneFlags) => {
      try {
        await runPrune(model, flags);
      } catch (err) {
        // 1 for bad input, 130 (128 + SIGINT, as shells report Ctrl-C) when interrupted, 70 for a bug
        process.exitCode = reportFailure('nettrim prune', err, flags.verbose || process.env.NETTRIM_DEBUG !== undefined);
      }
    });
}

async function runPrune(modelPath: string, flags: PruneFlags): Promise<void> {
  if (flags.epsilon !== undefined && flags.sparsity !== undefined) throw new InputError('give --epsilon or --sparsity, not both');
  if ((flags.eval.length > 0) !== (flags.labels !== undefined)) throw new InputError('--eval and --labels go together');
  checkStructureFlags(flags);
  if (flags.threads !== undefined && flags.threads >= 1) flags = { ...flags, threads: clampThreads(flags.threads) };
  if (isLayersModel(modelPath)) return runPruneLayers(modelPath, flags);
  const out = flags.out ?? defaultOutput(modelPath);
  const inputs = [modelPath, ...flags.calib.map(pathOf), ...flags.eval.map(pathOf), ...(flags.labels ? [flags.labels] : [])];
  const outputs = [out, ...flags.report, flags.magnitudeOut].filter((p): p is string => p !== undefined);
  for (const path of outputs) checkWritable(path, inputs);
  if (new Set(outputs.map((p) => resolve(p))).size !== outputs.length) throw new InputError('--out, --report and --magnitude-out must differ');

  const model = await readModel(modelPath);
  const calibration = await readFeeds(model, flags.calib, 'calib');
  const options = await evaluationOf(model, flags);
  const outcome = await withBars(flags, (onProgress, signal) =>
    pruneModel(model, calibration, settingsOf(flags), { ...options, onProgress, signal }));
  process.stdout.write(`${formatReport(outcome.report)}\n`);
  await writeFileAtomic(out, outcome.model, inputs);
  if (flags.magnitudeOut) await writeFileAtomic(flags.magnitudeOut, outcome.magnitudeModel, inputs);
  await writeReports(flags.report, outcome, out, inputs);
  process.stdout.write(`wrote ${[out, flags.magnitudeOut, ...flags.report].filter(Boolean).join(', ')}\n`);
}

/**
 * A TensorFlow.js Layers model (model.json, or its directory): --out and --magnitude-out are
 * directories (model.json and shards inside) or NAME.json paths; every path is checked against the
 * inputs (model.json, its shards, the data) before the solve.
 */
async function runPruneLayers(modelPath: string, flags: PruneFlags): Promise<void> {
  const file = await readLayersModel(modelPath);
  const out = flags.out ?? defaultLayersOutput(modelPath);
  const inputs = [file.source, ...file.shards, ...flags.calib.map(pathOf), ...flags.eval.map(pathOf), ...(flags.labels ? [flags.labels] : [])];
  const planned = encodeLayersModel(file); // the pruned model has the same shard names
  const targets = [out, flags.magnitudeOut].filter((p): p is string => p !== undefined).map((p) => layersOutputPaths(p, planned));
  for (const t of targets) {
    for (const path of [t.modelJson, ...t.shards]) checkWritable(path, inputs, true);
  }
  for (const path of flags.report) checkWritable(path, inputs);
  if (new Set(flags.report.map((p) => resolve(p))).size !== flags.report.length) throw new InputError('--report paths must differ');
  if (targets.length === 2 && resolve(targets[0]!.dir) === resolve(targets[1]!.dir)) {
    throw new InputError('--out and --magnitude-out must be different directories (their shards would collide)');
  }
  if (flags.report.some((r) => targets.some((t) => [t.modelJson, ...t.shards].some((p) => resolve(p) === resolve(r))))) {
    throw new InputError('--report must differ from the model outputs');
  }
  const names = parseTopology(file).inputs;
  const calibration = await readFeeds(names, flags.calib, 'calib');
  const options = await evaluationOf(names, flags);
  const outcome = await withBars(flags, (onProgress, signal) =>
    pruneLayersModel(file, calibration, settingsOf(flags), { ...options, onProgress, signal }));
  process.stdout.write(`${formatReport(outcome.report)}\n`);
  const written = await writeLayersModel(out, outcome.model, inputs);
  if (flags.magnitudeOut) written.push(...await writeLayersModel(flags.magnitudeOut, outcome.magnitudeModel, inputs));
  const output = written.find((p) => p.endsWith('.json'))!;
  await writeReports(flags.report, outcome, output, inputs);
  process.stdout.write(`wrote ${[...written.filter((p) => p.endsWith('.json')), ...flags.report].join(', ')} (and the weight shards)\n`);
}

/** Each --report path: the HTML page for .html/.htm, the JSON report otherwise (both from the same report object). */
async function writeReports(paths: readonly string[], outcome: { report: PruneReport; figures: ReportFigures }, output: string, inputs: readonly string[]): Promise<void> {
  const report = { ...outcome.report, output };
  for (const path of paths) {
    const text = isHtmlPath(path) ? renderHtmlReport(report, outcome.figures) : `${JSON.stringify(report, null, 2)}\n`;
    await writeFileAtomic(path, text, inputs);
  }
}

/** The held-out data of --eval and --labels, as pruneModel's option (none without --labels). */
async function evaluationOf(model: Parameters<typeof readFeeds>[0], flags: PruneFlags): Promise<Pick<PruneOptions, 'evaluation'>> {
  if (!flags.labels) return {};
  return { evaluation: { inputs: await readFeeds(model, flags.eval, 'eval'), labels: await readLabels(flags.labels) } };
}

function settingsOf(flags: PruneFlags): Partial<PruneSettings> {
  return {
    scheme: flags.scheme,
    allocation: flags.allocation,
    gamma: flags.gamma,
    ...(flags.epsilon !== undefined ? { epsilon: flags.epsilon } : {}),
    ...(flags.sparsity !== undefined ? { sparsity: flags.sparsity } : {}),
    maxColumns: flags.maxColumns,
    batchSize: flags.batchSize,
    seed: flags.seed,
    ...(flags.refit !== undefined ? { refit: flags.refit } : {}),
    refitBounds: flags.refitBounds,
    trimSupports: flags.trimSupports,
    solver: flags.maxIterations !== undefined ? { maxIterations: flags.maxIterations } : {},
    ...(flags.threads !== undefined ? { threads: flags.threads } : {}),
    weightFormat: flags.weightFormat,
    ...(flags.structure === 'neurons' ? structureSettings(flags) : {}),
  };
}

/** --keep and --keep-flops: one of them, a fraction in (0, 1], with --structure neurons. */
function checkStructureFlags(flags: PruneFlags): void {
  const given = [flags.keep !== undefined ? '--keep' : null, flags.keepFlops !== undefined ? '--keep-flops' : null].filter(Boolean);
  if (given.length > 0 && flags.structure !== 'neurons') throw new InputError(`${given.join(' and ')} need --structure neurons`);
  if (given.length > 1) throw new InputError('give --keep or --keep-flops, not both');
  if (flags.neuronMultiple !== undefined && given.length === 0) throw new InputError('--neuron-multiple rounds the counts of --keep or --keep-flops: give one of them');
  if (flags.neuronMultiple !== undefined && !(flags.neuronMultiple >= 1)) throw new InputError(`--neuron-multiple must be an integer >= 1, got ${flags.neuronMultiple}`);
  for (const [flag, v] of [['--keep', flags.keep], ['--keep-flops', flags.keepFlops]] as const) {
    for (const f of v === undefined ? [] : typeof v === 'number' ? [v] : v) {
      if (!(f > 0 && f <= 1)) throw new InputError(`${flag} must be a fraction in (0, 1] of what to keep${flag === '--keep' ? ' (or a list of them)' : ''}, got ${f}`);
    }
  }
  if (flags.structure === 'neurons' && flags.sparsity !== undefined && given.length === 0) {
    throw new InputError('--structure neurons with --sparsity needs --keep or --keep-flops (neurons first, then --sparsity inside the kept ones)');
  }
}

/**
 * --structure neurons: with a target, --epsilon or --sparsity prune single weights inside the kept
 * neurons afterwards; without one, --epsilon is the group programs' gain.
 */
function structureSettings(flags: PruneFlags): Partial<PruneSettings> {
  const keep = flags.keep !== undefined ? { neurons: flags.keep } : flags.keepFlops !== undefined ? { flops: flags.keepFlops } : null;
  return {
    structure: 'neurons', keep, weightsAfterNeurons: keep !== null && (flags.epsilon !== undefined || flags.sparsity !== undefined),
    ...(flags.neuronMultiple !== undefined ? { neuronMultiple: flags.neuronMultiple } : {}),
  };
}

/**
 * Runs the pruning with progress bars and Ctrl-C handling: the first SIGINT stops the solve within
 * an iteration (the run then fails with an AbortError and nothing is written), a second exits at once.
 */
async function withBars<T>(flags: PruneFlags, run: (onProgress: (e: ProgressEvent) => void, signal: AbortSignal) => Promise<T>): Promise<T> {
  const bars = flags.quiet ? null : new ProgressBars({ stages: flags.progress, bars: flags.progress, every: flags.progressEvery });
  const controller = new AbortController();
  const interrupt = () => {
    bars?.stop();
    process.stderr.write('nettrim: interrupted, stopping (Ctrl-C again to quit at once)\n');
    const reason = new Error('interrupted: nothing written');
    reason.name = 'AbortError';
    controller.abort(reason);
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  try {
    return await run((e) => bars?.update(e), controller.signal);
  } finally {
    process.off('SIGINT', interrupt);
    bars?.stop();
  }
}

/** model.json (any NAME.json) or a directory: a TensorFlow.js Layers model. */
function isLayersModel(path: string): boolean {
  return path.toLowerCase().endsWith('.json') || (existsSync(path) && statSync(path).isDirectory());
}

/** What ProgressBars shows; every field optional (the defaults are the demo's). */
export interface ProgressOptions {
  /** Bars on a terminal (default true); without them, only the status lines below. */
  bars?: boolean;
  /** On a non-terminal, a line at each stage change (default true). */
  stages?: boolean;
  /** Seconds between status lines (stage, layer, iteration, residuals, elapsed) when no bars are drawn; default 10. */
  every?: number;
}

/**
 * One bar per stage on a terminal. Otherwise (stderr to a file or pipe, or bars off) lines: one per
 * stage change, and a status line at least every `every` seconds while a stage runs, so that a long
 * solve shows it is alive (a log gets no more than that, not the few updates a second bars get).
 * Steps that send no events for a while (a refit, an evaluation) get the same line from a timer,
 * whenever the main thread is free to run it.
 */
export class ProgressBars {
  private readonly multi = new cliProgress.MultiBar(
    { format: ' {stage} |{bar}| {value}/{total} {detail}', barsize: 20, hideCursor: true, clearOnComplete: false, stream: process.stderr },
    cliProgress.Presets.shades_classic,
  );
  private readonly bars = new Map<string, Bar>();
  private readonly tty: boolean;
  private readonly stages: boolean;
  private readonly everyMs: number;
  private readonly started = performance.now();
  private lastLineAt = this.started;
  private last = '';
  private lastEvent: ProgressEvent | null = null;
  private readonly heartbeat: ReturnType<typeof setInterval> | null;

  constructor(options: ProgressOptions = {}) {
    this.tty = process.stderr.isTTY === true && options.bars !== false;
    this.stages = options.stages !== false;
    this.everyMs = 1000 * (options.every ?? 10);
    this.heartbeat = this.tty ? null : setInterval(() => this.beat(), Math.max(100, this.everyMs / 4));
    this.heartbeat?.unref();
  }

  update(e: ProgressEvent): void {
    if (!this.tty) {
      this.lastEvent = e;
      const now = performance.now();
      if (e.live === undefined) {
        const line = `${e.stage}: ${e.detail}`;
        const changed = line !== this.last;
        this.last = line;
        if (changed && this.stages) return this.write(line, now);
      }
      if (now - this.lastLineAt >= this.everyMs) this.status(e, now);
      return;
    }
    const payload = { stage: e.stage.padEnd(8), detail: e.live ? `${e.detail}: ${e.live}` : e.detail };
    const bar = this.bars.get(e.stage);
    if (!bar) this.bars.set(e.stage, this.multi.create(e.total, e.done, payload));
    else {
      bar.setTotal(e.total);
      bar.update(e.done, payload);
    }
  }

  stop(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.tty) this.multi.stop();
  }

  /** The timer's tick: the last event again, when no line was written for `every` seconds. */
  private beat(): void {
    const now = performance.now();
    if (this.lastEvent && now - this.lastLineAt >= this.everyMs) this.status(this.lastEvent, now);
  }

  private status(e: ProgressEvent, now: number): void {
    const elapsed = `${((now - this.started) / 1000).toFixed(0)} s`;
    this.write(`${e.stage} ${e.done}/${e.total}: ${e.detail}${e.live ? `, ${e.live}` : ''} (elapsed ${elapsed})`, now);
  }

  private write(line: string, now: number): void {
    process.stderr.write(`${line}\n`);
    this.lastLineAt = now;
  }
}

function defaultOutput(model: string): string {
  const ext = extname(model);
  return join(dirname(model), `${basename(model, ext)}.pruned${ext || '.onnx'}`);
}

/**
 * Fails before any work when an output would overwrite an input or has no directory to go to
 * (with `creatable`, the directory may be missing when its parent exists: it is made on writing).
 */
function checkWritable(path: string, inputs: readonly string[], creatable = false): void {
  checkOutputPath(path, inputs, creatable);
}

function pathOf(spec: string): string {
  const named = /^([^=/\\]+)=(.+)$/.exec(spec);
  return named && !existsSync(spec) ? named[2]! : spec;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function number(flag: string): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isFinite(v)) throw new InvalidArgumentError(`${flag} expects a number`);
    return v;
  };
}

/** A number, or comma-separated numbers (one per layer): 0.5 or 0.48,1. */
function fractions(flag: string): (value: string) => number | number[] {
  const one = number(flag);
  return (value) => (value.includes(',') ? value.split(',').map(one) : one(value));
}

function integer(flag: string): (value: string) => number {
  return (value) => {
    const v = Number(value);
    if (!Number.isInteger(v)) throw new InvalidArgumentError(`${flag} expects an integer`);
    return v;
  };
}

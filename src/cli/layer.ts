// `nettrim layer X.npy Y.npy`: one layer program from NumPy files, for scripts and NumPy users.
import { type Command, InvalidArgumentError, Option } from 'commander';
import { writeNpyFile, readNpyFile, type NpyArray } from '../io/npy.ts';
import { checkOutputPath } from '../io/atomic.ts';
import { listText } from '../io/format.ts';
import { InputError } from '../errors.ts';
import { reportFailure } from './failure.ts';
import { clampThreads } from './threads.ts';
import { DEFAULT_SETTINGS } from '../settings.ts';
import { STATUS_MESSAGES, type TrimResult, type TrimSettings } from '../types.ts';
import { LayerSolver } from '../layer/solve.ts';

interface LayerFlags {
  epsilon: number;
  absolute: boolean;
  activation: TrimSettings['activation'];
  bias: boolean;
  slack?: string;
  out?: string;
  json: boolean;
  maxIterations: number;
  relTol: number;
  absTol: number;
  rho: number;
  threads?: number;
  verbose: boolean;
}

/** Adds the `layer` command to the program. */
export function registerLayerCommand(program: Command): void {
  program
    .command('layer')
    .description('prune one layer from its calibration inputs X (P x N) and outputs Y (P x M)')
    .argument('<X.npy>', 'layer inputs, one row per sample (float32 or float64)')
    .argument('<Y.npy>', 'layer outputs on the same samples')
    .option('--epsilon <e>', 'allowed discrepancy, relative to ||Y||_F', nonNegative, DEFAULT_SETTINGS.epsilon)
    .option('--absolute', 'read --epsilon as an absolute Frobenius bound', false)
    .addOption(new Option('--activation <a>', 'layer activation').choices(['relu', 'linear']).default(DEFAULT_SETTINGS.activation))
    .option('--no-bias', 'no bias row (W is N x M)')
    .option('--slack <V.npy>', 'slack V (P x M) for the inactive outputs (cascade scheme)')
    .option('--out <W.npy>', 'write W, float32 (N+1) x M with the bias as last row (N x M with --no-bias)')
    .option('--json', 'print one JSON object instead of the summary', false)
    .option('--max-iterations <n>', 'ADMM iteration cap', positiveInteger, DEFAULT_SETTINGS.maxIterations)
    .option('--rel-tol <t>', 'relative residual tolerance', nonNegative, DEFAULT_SETTINGS.relTol)
    .option('--abs-tol <t>', 'absolute residual tolerance', nonNegative, DEFAULT_SETTINGS.absTol)
    .option('--rho <r>', 'initial ADMM penalty', positive, DEFAULT_SETTINGS.rho)
    .option('--threads <n>', 'threads for the products (default: the cores; at most the cores)', positiveInteger)
    .option('--verbose', 'on errors, also print the underlying causes and the stack', false)
    .action(async (xPath: string, yPath: string, flags: LayerFlags) => {
      try {
        process.exitCode = await runLayer(xPath, yPath, flags);
      } catch (err) {
        process.exitCode = reportFailure('nettrim layer', err, flags.verbose);
      }
    });
}

async function runLayer(xPath: string, yPath: string, flags: LayerFlags): Promise<number> {
  const inputs = [xPath, yPath, ...(flags.slack ? [flags.slack] : [])];
  if (flags.out) checkOutputPath(flags.out, inputs); // before any work: a solve can take minutes
  const threads = clampThreads(flags.threads);
  const x = matrix(await readNpyFile(xPath), xPath);
  const y = matrix(await readNpyFile(yPath), yPath);
  if (x.rows !== y.rows) {
    throw new InputError(`${xPath} has ${x.rows} samples (rows) but ${yPath} has ${y.rows}: both must hold the same samples`);
  }
  let slack: Float32Array | undefined;
  if (flags.slack) {
    const v = matrix(await readNpyFile(flags.slack), flags.slack);
    if (v.rows !== y.rows || v.cols !== y.cols) {
      throw new InputError(`${flags.slack} is ${v.rows} x ${v.cols} but ${yPath} is ${y.rows} x ${y.cols}: the slack must match Y`);
    }
    slack = v.data;
  }
  const solver = await LayerSolver.create(threads !== undefined ? { threads } : {});
  const result = await solver.solveAsync(
    { inputs: x.data, outputs: y.data, samples: x.rows, inputSize: x.cols, outputSize: y.cols, slack },
    {
      epsilon: flags.epsilon, epsilonMode: flags.absolute ? 'absolute' : 'relative', activation: flags.activation,
      bias: flags.bias, maxIterations: flags.maxIterations, relTol: flags.relTol, absTol: flags.absTol, rho: flags.rho,
    },
  ).finally(() => solver.close());
  const converged = result.status === 'solved' || result.status === 'solved-inaccurate';
  if (flags.out && result.status !== 'non-finite') {
    const rows = result.inputSize + (result.bias ? 1 : 0);
    await writeNpyFile(flags.out, stackBias(result), [rows, result.outputSize], inputs);
  }
  if (flags.json) console.log(JSON.stringify(summary(result)));
  else printSummary(result, flags.out);
  if (result.status !== 'solved') {
    console.error(`nettrim: ${result.status}: ${STATUS_MESSAGES[result.status]} (after ${result.iterations} iterations: ` +
      `primal residual ${fmt(result.primalResidual)} vs tolerance ${fmt(result.primalTolerance)}, ` +
      `dual ${fmt(result.dualResidual)} vs ${fmt(result.dualTolerance)})`);
  }
  return converged ? 0 : 3;
}

/** The JSON record of the command: the fields plus the solver's account. */
function summary(r: TrimResult) {
  return {
    status: r.status, nnz: r.nnz, weights: r.weights.length, nnzBias: r.nnzBias, bias: r.bias?.length ?? 0,
    keptFraction: r.nnz / r.weights.length, l1: r.l1, relativeError: r.relativeError, epsilon: r.relativeEpsilon,
    maxInactive: r.maxInactive, maxInactiveRelative: r.maxInactiveRelative, iterations: r.iterations,
    primalResidual: r.primalResidual, dualResidual: r.dualResidual, primalTolerance: r.primalTolerance,
    dualTolerance: r.dualTolerance, rho: r.rho, dualBound: r.dualBound, gap: r.gap, seconds: r.seconds,
  };
}

function printSummary(r: TrimResult, out: string | undefined): void {
  const pct = (100 * r.nnz / r.weights.length).toFixed(2);
  console.log(`layer ${r.inputSize} -> ${r.outputSize}: kept ${r.nnz} of ${r.weights.length} weights (${pct}%)` +
    (r.bias ? `, ${r.nnzBias} of ${r.bias.length} biases` : ''));
  console.log(`  relative error ${fmt(r.relativeError)} (epsilon ${fmt(r.relativeEpsilon)}), ` +
    `largest inactive violation ${fmt(r.maxInactive)}, l1 ${fmt(r.l1)}`);
  console.log(`  ${r.status} in ${r.iterations} iterations, ${r.seconds.toFixed(2)} s, within ${(100 * r.gap).toFixed(2)}% of the optimal l1 (dual bound ${fmt(r.dualBound)})` + (out ? `; wrote ${out}` : ''));
}

/** W with the bias appended as its last row, as W.npy stores it. */
function stackBias(r: TrimResult): Float32Array {
  if (!r.bias) return r.weights;
  const w = new Float32Array(r.weights.length + r.bias.length);
  w.set(r.weights);
  w.set(r.bias, r.weights.length);
  return w;
}

/** A 2-D, non-empty, finite array, or an InputError naming the file. */
function matrix(a: NpyArray, path: string) {
  if (a.shape.length !== 2) {
    throw new InputError(`${path}: expected a 2-D array (samples x features), got shape (${listText(a.shape)})`);
  }
  const [rows, cols] = a.shape;
  if (rows === 0 || cols === 0) throw new InputError(`${path}: the array is empty (shape (${rows}, ${cols}))`);
  for (let i = 0; i < a.data.length; i++) {
    if (!Number.isFinite(a.data[i])) {
      throw new InputError(`${path}: value ${a.data[i]} at row ${Math.floor(i / cols)}, column ${i % cols}; the data must be finite`);
    }
  }
  return { data: a.data, rows, cols };
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toPrecision(4) : v.toExponential(3);
}

function nonNegative(v: string): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < 0) throw new InvalidArgumentError(`expected a number >= 0, got '${v}'`);
  return x;
}

function positive(v: string): number {
  const x = nonNegative(v);
  if (x === 0) throw new InvalidArgumentError(`expected a number > 0, got '${v}'`);
  return x;
}

function positiveInteger(v: string): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) throw new InvalidArgumentError(`expected an integer >= 1, got '${v}'`);
  return x;
}

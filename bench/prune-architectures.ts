// `nettrim prune` (the CLI, as a user runs it) on the architecture examples of
// scripts/train-architectures.ts, at --sparsity 0.5, --sparsity 0.7 and --epsilon 0.05 (default
// settings otherwise), printing one markdown row per run: removed fraction, held-out top-1 of the
// trained model, of Net-Trim and of SparseGPT at Net-Trim's per-layer counts, and the wall time.
//
//   node --import tsx bench/prune-architectures.ts [resnet] [resnet-folded] [mobilenet] [vit] [--runs sparsity0.5,...]
//
// The models take NCHW images, so the flat digits are first written as [N, 1, 28, 28]
// (scripts/mnist-nchw.ts does the same into examples/data/nchw). Pruned files go to a temp dir.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpyFile, writeNpyFile } from '../src/io/npy.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const RUNS: Record<string, string[]> = {
  'sparsity0.5': ['--sparsity', '0.5'],
  'sparsity0.7': ['--sparsity', '0.7'],
  'epsilon0.05': ['--epsilon', '0.05'],
};

interface Report {
  total: { removedFraction: number; seconds: number };
  eval: { accuracyBefore: number; accuracyAfter: number; accuracySparseGpt?: number };
  layers: unknown[];
  skipped: unknown[];
}

const args = process.argv.slice(2);
const runsFlag = args.indexOf('--runs');
const runNames = runsFlag >= 0 ? args[runsFlag + 1]!.split(',') : Object.keys(RUNS);
const models = args.filter((a, i) => !a.startsWith('--') && !(runsFlag >= 0 && i === runsFlag + 1));
const which = models.length ? models : ['resnet', 'resnet-folded', 'mobilenet', 'vit'];

const dir = mkdtempSync(join(tmpdir(), 'nettrim-arch-'));
try {
  for (const name of ['mnist-calib-x', 'mnist-test-x']) {
    const flat = await readNpyFile(join(EXAMPLES, 'data', `${name}.npy`));
    await writeNpyFile(join(dir, `${name}.npy`), flat.data as Float32Array, [flat.shape[0]!, 1, 28, 28]);
  }
  console.log('| model | run | removed | dense | nettrim | SparseGPT same counts | layers (skipped) | time |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  const pct = (v: number | undefined) => (v === undefined ? '-' : (100 * v).toFixed(1));
  for (const model of which) {
    for (const run of runNames) {
      const flags = RUNS[run];
      if (!flags) throw new Error(`unknown run ${run}: ${Object.keys(RUNS).join(', ')}`);
      const report = join(dir, `${model}-${run}.json`);
      execFileSync(process.execPath, [
        '--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'prune', join(EXAMPLES, 'models', `mnist-${model}.onnx`),
        '--calib', join(dir, 'mnist-calib-x.npy'), '--eval', join(dir, 'mnist-test-x.npy'),
        '--labels', join(EXAMPLES, 'data', 'mnist-test-labels.npy'), ...flags, '--no-progress',
        '--report', report, '--out', join(dir, `${model}-${run}.onnx`),
      ], { stdio: ['ignore', 'ignore', 'inherit'], cwd: ROOT });
      const r = JSON.parse(readFileSync(report, 'utf8')) as Report;
      console.log(`| ${model} | ${flags.join(' ')} | ${pct(r.total.removedFraction)}% | ${pct(r.eval.accuracyBefore)} | `
        + `${pct(r.eval.accuracyAfter)} | ${pct(r.eval.accuracySparseGpt)} | ${r.layers.length} (${r.skipped.length}) | ${r.total.seconds.toFixed(0)} s |`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

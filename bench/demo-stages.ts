// Where the seconds of one `npm run demo` run go: the run's stages timed from its progress events
// (trained signals, solves with the refit, which has no event of its own, the written network's
// evaluation with its baselines, the per-try evaluation behind the HTML report's curve).
//   node --import tsx bench/demo-stages.ts [mlp|conv|resnet] [--epsilon G | --sparsity S] [--allocation uniform] [--no-refit] [--no-eval]
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { firstRows, readTensor } from '../src/prune/files.ts';
import { pruneModel } from '../src/prune/index.ts';
import type { PruneSettings } from '../src/prune/types.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    epsilon: { type: 'string' }, sparsity: { type: 'string' }, allocation: { type: 'string' },
    'no-refit': { type: 'boolean', default: false }, 'no-eval': { type: 'boolean', default: false },
    'calib-digits': { type: 'string' },
  },
});
const which = positionals[0] ?? 'mlp';
const examples = (p: string): string => fileURLToPath(new URL(`../examples/${p}`, import.meta.url));
const model = examples(`models/${{ mlp: 'mnist-mlp', conv: 'mnist-conv', resnet: 'mnist-resnet' }[which] ?? which}.onnx`);
/** The flat digits as the model's input: the CNN and the ResNet take N x 1 x 28 x 28. */
const shaped = async (file: string) => {
  const t = firstRows(await readTensor(examples(file)), file.includes('calib') ? values['calib-digits'] : undefined);
  return which === 'mlp' ? t : { ...t, shape: [t.shape[0]!, 1, 28, 28] };
};
const settings: Partial<PruneSettings> = {
  ...(values.epsilon ? { epsilon: Number(values.epsilon) } : {}),
  ...(values.sparsity ? { sparsity: Number(values.sparsity) } : {}),
  ...(values.allocation ? { allocation: values.allocation as PruneSettings['allocation'] } : {}),
  refit: !values['no-refit'],
};
const calibration = await shaped('data/mnist-calib-x.npy');
const evaluation = values['no-eval'] ? undefined : { inputs: await shaped('data/mnist-test-x.npy'), labels: await readTensor(examples('data/mnist-test-labels.npy')) };

const started = performance.now();
const cpu0 = process.cpuUsage();
const stages = new Map<string, number>();
let stage = 'start';
let since = started;
const enter = (name: string): void => {
  const now = performance.now();
  stages.set(stage, (stages.get(stage) ?? 0) + (now - since) / 1000);
  stage = name;
  since = now;
};
const outcome = await pruneModel(model, calibration, settings, {
  ...(evaluation ? { evaluation } : {}),
  onProgress: (e) => {
    // solve and search events interleave: both count as "solve"; the refit has no event of its own
    const name = e.stage === 'evaluate'
      ? (e.detail.startsWith('accuracy of') ? 'evaluate tries' : e.detail === 'done' ? 'done' : 'evaluate')
      : e.stage === 'search' && e.detail.startsWith('sensitivity') ? 'sensitivity' : e.stage === 'search' ? 'solve' : e.stage;
    if (name !== stage) enter(name);
  },
});
enter('done');
const total = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpu0);
const r = outcome.report;
process.stdout.write(`${which} ${JSON.stringify(settings)}: total ${total.toFixed(1)} s (CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s, worker threads included), removed ${(100 * r.total.removedFraction).toFixed(1)}%`
  + `${r.eval ? `, accuracy ${(100 * r.eval.accuracyAfter).toFixed(2)}% (SparseGPT ${(100 * r.eval.accuracySparseGpt).toFixed(2)}%)` : ''}\n`);
const search = r.search;
if (search) {
  process.stdout.write(`  path/tries: ${search.tries.map((t) => `${t.epsilon.toPrecision(2)}:${(100 * t.removedFraction).toFixed(1)}%`).join(' ')}\n`);
  if (search.allocation) process.stdout.write(`  allocation: ${search.allocation.layers.map((l) => `${l.name} ${l.epsilon.toPrecision(2)} (${l.nnz})`).join(', ')}\n`);
}
for (const l of r.layers) {
  if (l.refit) process.stdout.write(`  refit per layer: ${l.name} error ${l.refit.relativeErrorBefore.toFixed(4)} -> ${l.relativeError.toFixed(4)}, mean step ${l.refit.meanStep.toFixed(3)}\n`);
}
for (const [name, s] of stages) if (name !== 'done' && s > 0.05) process.stdout.write(`  ${name.padEnd(20)} ${s.toFixed(1).padStart(7)} s  ${(100 * s / total).toFixed(0).padStart(3)}%\n`);

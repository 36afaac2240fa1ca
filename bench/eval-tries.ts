// What the HTML report's accuracy curve costs: a --sparsity 0.85 run of the MNIST MLP with held-out
// data, printing when each stage starts. "accuracy" -> "accuracy of the N search tries" is the
// written network's evaluation (SparseGPT factors each layer's H^-1 there); from there to "done" is
// the per-try evaluation (EvalReport.tries), which reuses those factors and the trained outputs.
//   node --import tsx bench/eval-tries.ts [calibration digits, default 500]
import { fileURLToPath } from 'node:url';
import { firstRows, readTensor } from '../src/prune/files.ts';
import { pruneModel } from '../src/prune/index.ts';

const examples = (p: string): string => fileURLToPath(new URL(`../examples/${p}`, import.meta.url));
const calibration = firstRows(await readTensor(examples('data/mnist-calib-x.npy')), process.argv[2] ?? '500');
const inputs = await readTensor(examples('data/mnist-test-x.npy'));
const labels = await readTensor(examples('data/mnist-test-labels.npy'));
const started = performance.now();
const seconds = (): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;
const outcome = await pruneModel(examples('models/mnist-mlp.onnx'), calibration, { sparsity: 0.85 }, {
  evaluation: { inputs, labels },
  onProgress: (e) => { if (e.stage === 'search' || e.stage === 'evaluate') process.stdout.write(`${seconds().padStart(8)}  ${e.stage}: ${e.detail}\n`); },
});
process.stdout.write(`${outcome.report.eval!.tries!.length} tries evaluated; total ${seconds()}\n`);

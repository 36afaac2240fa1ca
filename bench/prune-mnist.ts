// The targets on the shipped MNIST examples, one line per configuration:
// removed fraction, held-out top-1 accuracy before / after / magnitude, Wanda and SparseGPT at the
// same per-layer counts, the gap to magnitude, largest output change, wall time.
//
//   node --import tsx bench/prune-mnist.ts [--quick] [--calib-digits N] [--refit]
//
// --quick runs only the two MLP targets (epsilon 0.05 parallel, sparsity 0.85 parallel).
// --calib-digits N uses only the first N of the 2,000 calibration digits (they are the head of the
// training set, so N = 1000 is the calibration set the examples shipped with before).
// --refit adds the opt-in least-squares refit (src/prune/refit.ts) to every configuration.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import type { TensorData } from '../src/onnx/inputs.ts';
import { firstRows, readTensor } from '../src/prune/files.ts';
import { pruneModel } from '../src/prune/index.ts';
import type { PruneSettings } from '../src/prune/types.ts';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));

const CONFIGS: Array<[model: string, settings: Partial<PruneSettings>]> = [
  ['mnist-mlp', { scheme: 'parallel', epsilon: 0.05 }],
  ['mnist-mlp', { scheme: 'parallel', sparsity: 0.85 }],
  ['mnist-mlp', { scheme: 'cascade', epsilon: 0.05 }],
  ['mnist-mlp', { scheme: 'cascade', sparsity: 0.85 }],
  ['mnist-conv', { scheme: 'parallel', epsilon: 0.05 }],
  ['mnist-conv', { scheme: 'parallel', sparsity: 0.85 }],
  ['mnist-conv', { scheme: 'cascade', epsilon: 0.05 }],
];

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, refit: { type: 'boolean', default: false }, 'calib-digits': { type: 'string' } },
});
const quick = values.quick!;
const calibration = firstRows(await readTensor(join(EXAMPLES, 'data/mnist-calib-x.npy')), values['calib-digits']);
const test = await readTensor(join(EXAMPLES, 'data/mnist-test-x.npy'));
const labels = await readTensor(join(EXAMPLES, 'data/mnist-test-labels.npy'));
const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

const table = new Table({
  head: ['model', 'scheme', 'target', 'epsilon', 'removed', 'per layer kept', 'acc before', 'after', 'magnitude', 'Wanda', 'SparseGPT', 'gap', 'max out change', 'time'],
  style: { head: [], border: [] },
});
for (const [name, settings] of quick ? CONFIGS.slice(0, 2) : CONFIGS) {
  const conv = name === 'mnist-conv';
  const started = performance.now();
  const { report } = await pruneModel(join(EXAMPLES, `models/${name}.onnx`), image(calibration, conv), { ...settings, refit: values.refit! }, {
    evaluation: { inputs: image(test, conv), labels },
  });
  const seconds = (performance.now() - started) / 1000;
  const e = report.eval!;
  table.push([
    name, settings.scheme!, settings.sparsity !== undefined ? `sparsity ${settings.sparsity}` : `epsilon ${settings.epsilon}`,
    report.epsilon.toPrecision(3), pct(report.total.removedFraction), report.layers.map((l) => pct(l.keptFraction)).join(' '),
    pct(e.accuracyBefore), pct(e.accuracyAfter), pct(e.accuracyMagnitude), pct(e.accuracyWanda), pct(e.accuracySparseGpt),
    `${(100 * (e.accuracyAfter - e.accuracyMagnitude)).toFixed(1)} pts`, e.maxOutputChange.toFixed(3), `${seconds.toFixed(1)} s`,
  ]);
}
console.log(`${calibration.shape[0]} calibration digits, ${test.shape[0]} held-out digits${values.refit ? ', refit' : ''}`);
console.log(table.toString());

/** The flat 784-pixel digits, or N x 1 x 28 x 28 for the CNN. */
function image(t: TensorData, conv: boolean): TensorData {
  return conv ? { ...t, shape: [t.shape[0]!, 1, 28, 28] } : t;
}

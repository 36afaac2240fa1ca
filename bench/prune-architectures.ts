// Issue 9's targets on the architecture examples (ResNet-, MobileNet- and transformer-style, see
// examples/models/README.md): for each model and setting, the removed fraction and the held-out
// top-1 accuracy of the trained model, Net-Trim, and magnitude, Wanda and SparseGPT at Net-Trim's
// per-layer counts, with the wall time.
//
//   node --import tsx bench/prune-architectures.ts [--models a,b] [--settings s1;s2] [--no-refit]
//
// Every run uses the library's defaults (refit on) unless a setting says otherwise; --no-refit turns
// the refit off (before 2026-12-02 afternoon the refit was off here unless --refit was given, which
// is still accepted).
// Settings are written as the CLI's: "sparsity=0.5", "sparsity=0.7,scheme=cascade",
// "sparsity=0.7,allocation=uniform", "sparsity=0.7,trimSupports=false", "epsilon=0.05". Models default to every *.onnx example
// whose name is not mnist-mlp or mnist-conv (those are bench/prune-mnist.ts's).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import Table from 'cli-table3';
import { readModel } from '../src/onnx/model.ts';
import type { TensorData } from '../src/onnx/inputs.ts';
import { readTensor } from '../src/prune/files.ts';
import { pruneModel } from '../src/prune/index.ts';
import type { PruneSettings } from '../src/prune/types.ts';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const DEFAULT_SETTINGS = ['sparsity=0.5', 'sparsity=0.7', 'sparsity=0.7,allocation=uniform', 'sparsity=0.7,scheme=cascade'];

const { values } = parseArgs({
  options: {
    models: { type: 'string' }, settings: { type: 'string' }, refit: { type: 'boolean', default: true }, 'no-refit': { type: 'boolean', default: false },
  },
});
const models = values.models?.split(',') ??
  readdirSync(join(EXAMPLES, 'models')).filter((f) => f.endsWith('.onnx') && !/^mnist-(mlp|conv)\.onnx$/.test(f)).map((f) => f.slice(0, -5));
const settings = (values.settings?.split(';') ?? DEFAULT_SETTINGS).map(parseSettings);
const calibration = await readTensor(join(EXAMPLES, 'data/mnist-calib-x.npy'));
const test = await readTensor(join(EXAMPLES, 'data/mnist-test-x.npy'));
const labels = await readTensor(join(EXAMPLES, 'data/mnist-test-labels.npy'));
const pct = (v: number): string => `${(100 * v).toFixed(1)}`;

const table = new Table({
  head: ['model', 'setting', 'removed', 'dense', 'Net-Trim', 'magnitude', 'Wanda', 'SparseGPT', 'vs SparseGPT', 'time'],
  style: { head: [], border: [] },
});
for (const name of models) {
  const path = join(EXAMPLES, 'models', `${name}.onnx`);
  if (!existsSync(path)) throw new Error(`no example model ${path}`);
  const shape = (await readModel(path)).graph.input?.[0]?.type?.tensorType?.shape?.dim?.map((d) => Number(d.dimValue ?? 0)) ?? [];
  const asInput = (t: TensorData): TensorData => ({ ...t, shape: [t.shape[0]!, ...shape.slice(1)] });
  for (const s of settings) {
    const started = performance.now();
    const { report } = await pruneModel(path, asInput(calibration), { refit: !values['no-refit'], ...s.settings }, {
      evaluation: { inputs: asInput(test), labels },
    });
    const e = report.eval!;
    table.push([
      name, s.label, `${pct(report.total.removedFraction)}%`, pct(e.accuracyBefore), pct(e.accuracyAfter), pct(e.accuracyMagnitude),
      pct(e.accuracyWanda), pct(e.accuracySparseGpt), `${(100 * (e.accuracyAfter - e.accuracySparseGpt)).toFixed(1)} pts`,
      `${((performance.now() - started) / 1000).toFixed(1)} s`,
    ]);
    console.log(table.toString()); // a long run shows its rows as they come
  }
}
console.log(`${calibration.shape[0]} calibration digits, ${test.shape[0]} held-out digits${values['no-refit'] ? ', no refit' : ', refit'}; top-1 accuracy in %`);

function parseSettings(text: string): { label: string; settings: Partial<PruneSettings> } {
  const settings: Record<string, unknown> = {};
  for (const pair of text.split(',')) {
    const [key, value] = pair.split('=') as [string, string];
    settings[key] = value === 'true' || value === 'false' ? value === 'true' : Number.isFinite(Number(value)) ? Number(value) : value;
  }
  return { label: text, settings: settings as Partial<PruneSettings> };
}

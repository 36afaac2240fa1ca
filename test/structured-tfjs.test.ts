// Structured Net-Trim on the shipped TensorFlow.js MLP: the written model.json has the smaller
// kernels (TF.js network surgery), tf.loadLayersModel loads it from disk, and it computes what the
// zero-masked model computes on the held-out digits (1e-5 relative).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readTensor } from '../src/prune/files.ts';
import { pruneLayersModel, writeLayersModel, type LayersModelArtifacts } from '../src/tfjs/prune.ts';
import { loadLayersModelFile, predictFlat } from './helpers/tfjs.ts';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'nettrim-structured-tfjs-'));

async function logits(artifacts: LayersModelArtifacts, name: string, x: Float32Array, samples: number) {
  const paths = await writeLayersModel(join(dir, name), artifacts);
  const model = await loadLayersModelFile(paths.find((p) => p.endsWith('.json'))!);
  return { out: predictFlat(model, x, [samples, 784]), kernels: model.layers.map((l) => l.getWeights()[0]?.shape ?? []) };
}

test('TF.js MLP, keep 40% of the neurons: smaller kernels, same outputs as the masked model', async () => {
  const calib = await readTensor(join(EXAMPLES, 'data/mnist-calib-x.npy'));
  const digits = await readTensor(join(EXAMPLES, 'data/mnist-test-x.npy'));
  const outcome = await pruneLayersModel(join(EXAMPLES, 'models/mnist-mlp-tfjs'), calib, { structure: 'neurons', keep: { neurons: 0.4 } });
  const r = outcome.report.structure!;
  assert.ok(r.shrunk, 'the TF.js backend cut the neurons out');
  const samples = 500, x = (digits.data as Float32Array).subarray(0, samples * 784);
  const shrunk = await logits(outcome.model, 'shrunk', x, samples), masked = await logits(outcome.maskedModel!, 'masked', x, samples);
  // each Dense kernel is [inputs, units]: the hidden units are the report's counts
  const hidden = r.layers.filter((l) => l.epsilon !== null).map((l) => l.neuronsAfter);
  assert.equal(shrunk.kernels.filter((k) => k.length === 2).map((k) => k[1]).slice(0, hidden.length), hidden);
  assert.ok(hidden.every((n, i) => n < r.layers[i]!.neuronsBefore));
  let diff = 0, scale = 0;
  for (let i = 0; i < masked.out.length; i++) {
    diff = Math.max(diff, Math.abs(shrunk.out[i]! - masked.out[i]!));
    scale = Math.max(scale, Math.abs(masked.out[i]!));
  }
  assert.ok(diff <= 1e-5 * scale, `shrunk and masked differ by ${diff} (outputs up to ${scale})`);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();

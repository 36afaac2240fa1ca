// Compact ONNX files (src/onnx/sparse.ts): element-wise pruned weights written as sparse_initializer
// entries. The judge is onnxruntime-node, a runtime we did not write: it must load the files as they
// are and compute the same outputs as the zero-masked dense model, on real held-out digits.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeNpy, readNpyFile } from '../src/io/npy.ts';
import { InputError } from '../src/errors.ts';
import { initializerValues, parseModel, readModel, type OnnxModel } from '../src/onnx/model.ts';
import { patchInitializers } from '../src/onnx/patch.ts';
import { onnx } from '../src/onnx/proto.ts';
import { writeSparse } from '../src/onnx/sparse.ts';
import { runOutputs } from '../src/prune/evaluate.ts';
import { keepLargest } from '../src/prune/magnitude.ts';
import { pruneModel } from '../src/prune/index.ts';
import { resolvePruneSettings } from '../src/prune/settings.ts';
import { prune } from './helpers/cli.ts';

const EXAMPLES = fileURLToPath(new URL('../examples/', import.meta.url));
const DIGITS = 500;
const heldOut = await readNpyFile(join(EXAMPLES, 'data/mnist-test-x.npy'));

/** The model's weight tensors with all but the largest `kept` fraction zeroed (magnitude pruning). */
function masked(model: OnnxModel, kept: number): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const [name, t] of model.initializers) {
    if ((t.dims ?? []).length < 2) continue; // biases stay
    const w = initializerValues(model, name);
    values.set(name, keepLargest(w, Math.round(kept * w.length)));
  }
  return values;
}

function digits(model: OnnxModel) {
  const input = model.graph.input![0]!;
  const shape = (input.type!.tensorType!.shape!.dim ?? []).slice(1).map((d) => Number(d.dimValue));
  return new Map([[input.name!, { data: heldOut.data.subarray(0, DIGITS * 784), shape: [DIGITS, ...shape] }]]);
}

/** Largest |b - a| / max |a| over every output. */
async function relativeDifference(a: Uint8Array, b: Uint8Array, model: OnnxModel): Promise<number> {
  const feeds = digits(model);
  const [want, got] = [await runOutputs(a, 'masked', feeds, DIGITS, 250), await runOutputs(b, 'sparse', feeds, DIGITS, 250)];
  let worst = 0;
  for (const [name, x] of want) {
    const y = got.get(name)!;
    let scale = 0, diff = 0;
    for (let i = 0; i < x.length; i++) {
      scale = Math.max(scale, Math.abs(x[i]!));
      diff = Math.max(diff, Math.abs(y[i]! - x[i]!));
    }
    worst = Math.max(worst, diff / scale);
  }
  return worst;
}

for (const name of ['mnist-mlp', 'mnist-conv']) {
  test(`${name}: 85% removed, written sparse: onnxruntime loads it and computes the masked model's outputs`, async () => {
    const model = await readModel(join(EXAMPLES, `models/${name}.onnx`));
    const values = masked(model, 0.15);
    const dense = patchInitializers(model, values);
    for (const indexType of ['compact', 'int64'] as const) {
      const { bytes, converted } = writeSparse(model, values, indexType);
      assert.ok(converted.length > 0, `${indexType}: no tensor converted`);
      const difference = await relativeDifference(dense, bytes, model);
      assert.ok(difference <= 1e-5, `${indexType}: outputs differ by ${difference} of their largest value`);
      assert.ok(bytes.length < dense.length, `${indexType}: ${bytes.length} bytes, dense ${dense.length}`);
      // read back by nettrim: the same weights, bit for bit, everything else as in the original
      const back = parseModel(bytes, `${name} (${indexType})`);
      for (const [tensor, want] of values) assert.equal(Array.from(initializerValues(back, tensor)), Array.from(want), tensor);
      assert.equal(back.graph.node, model.graph.node);
      assert.equal(back.proto.opsetImport, model.proto.opsetImport);
    }
  });
}

test('the MLP at 85% removed: the compact file is more than 2x smaller than the trained one, and so is the int64 one', async () => {
  const model = await readModel(join(EXAMPLES, 'models/mnist-mlp.onnx'));
  const values = masked(model, 0.15);
  const compact = writeSparse(model, values, 'compact'), int64 = writeSparse(model, values, 'int64');
  assert.is(model.bytes.length, 1_068_112);
  assert.ok(2 * compact.bytes.length <= model.bytes.length, `compact: ${compact.bytes.length} bytes`);
  assert.ok(2 * int64.bytes.length <= model.bytes.length, `int64: ${int64.bytes.length} bytes`);
  // per kept weight: 4 bytes of value and the index: 4 (fc1, 235,200 entries), 2 (fc2, fc3)
  const fc1 = compact.converted.find((c) => c.name === 'fc1.weight')!;
  assert.is(fc1.sparseBytes, fc1.nonzero * 8);
  const fc2 = compact.converted.find((c) => c.name === 'fc2.weight')!;
  assert.is(fc2.sparseBytes, fc2.nonzero * 6);
});

test('a tensor whose sparse form would be larger stays dense', async () => {
  const model = await readModel(join(EXAMPLES, 'models/mnist-mlp.onnx'));
  const values = masked(model, 0.7); // 8 bytes per kept weight > 4 per weight
  const { bytes, converted } = writeSparse(model, values, 'compact');
  assert.equal(converted.map((c) => c.name), []);
  assert.equal(bytes, patchInitializers(model, values));
});

test('pruneModel writes sparse by default and reports the file sizes', async () => {
  const model = await readModel(join(EXAMPLES, 'models/mnist-mlp.onnx'));
  const calibration = { data: heldOut.data.subarray(0, 300 * 784), shape: [300, 784] };
  const { model: written, magnitudeModel, report } = await pruneModel(model, calibration, { epsilon: 0.3, solver: { maxIterations: 300 } });
  const file = report.file!;
  assert.is(file.weightFormat, 'sparse');
  assert.is(file.bytes, written.length);
  assert.is(file.trainedBytes, 1_068_112);
  assert.ok(file.gzipBytes > 0 && file.gzipBytes < written.length, `gzip ${file.gzipBytes}`);
  assert.ok(written.length < model.bytes.length && magnitudeModel.length < model.bytes.length);
  // nettrim reads it back dense: the same model as onnxruntime sees it
  const back = parseModel(written, 'pruned');
  assert.ok(await relativeDifference(back.bytes, written, model) <= 1e-5);
  assert.throws(() => resolvePruneSettings({ weightFormat: 'csr' as 'sparse' }), /weightFormat must be dense, sparse or sparse-int64, got 'csr'/);
});

test('sparse initializers written by others (coordinate indices, int8) read back as onnxruntime reads them', async () => {
  const w = new Float32Array(12 * 8);
  for (let i = 0; i < w.length; i += 5) w[i] = 0.1 * i - 3;
  const kept = [...w.keys()].filter((i) => w[i] !== 0);
  const bytes = onnx.ModelProto.encode({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g', node: [{ opType: 'MatMul', input: ['x', 'W'], output: ['y'] }],
      sparseInitializer: [{
        values: { name: 'W', dims: [kept.length], dataType: 1, floatData: kept.map((i) => w[i]!) },
        indices: { dims: [kept.length, 2], dataType: 3, rawData: Uint8Array.from(kept.flatMap((i) => [Math.floor(i / 8), i % 8])) },
        dims: [12, 8],
      }],
      input: [{ name: 'x', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }, { dimValue: 12 }] } } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 2 }, { dimValue: 8 }] } } } }],
    },
  }).finish();
  const model = parseModel(bytes, 'coordinates.onnx');
  assert.equal(Array.from(initializerValues(model, 'W')), Array.from(w));
  const feeds = new Map([['x', { data: Float32Array.from({ length: 24 }, (_, i) => i / 7), shape: [2, 12] }]]);
  const [a, b] = [await runOutputs(bytes, 'sparse', feeds, 2, 2), await runOutputs(model.bytes, 'dense', feeds, 2, 2)];
  assert.equal(Array.from(b.get('y')!), Array.from(a.get('y')!));
});

test('nettrim prune --weight-format: sparse-int64 writes int64 positions; an unknown format is refused before any work', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nettrim-sparse-cli-'));
  try {
    writeFileSync(join(dir, 'calib.npy'), encodeNpy(heldOut.data.slice(0, 200 * 784), [200, 784]));
    const common = [join(EXAMPLES, 'models/mnist-mlp.onnx'), '--calib', join(dir, 'calib.npy'), '--epsilon', '0.3', '--max-iterations', '200', '--no-progress'];
    const ok = await prune([...common, '--weight-format', 'sparse-int64', '--out', join(dir, 'int64.onnx')]);
    assert.is(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /file: [\d,]+ bytes \(gzip [\d,]+\), weights stored sparse-int64; trained 1,068,112/);
    const written = onnx.ModelProto.decode(readFileSync(join(dir, 'int64.onnx')));
    assert.ok((written.graph!.sparseInitializer ?? []).length >= 1);
    for (const t of written.graph!.sparseInitializer ?? []) assert.is(t.indices!.dataType, 7);
    const bad = await prune([...common, '--weight-format', 'csr', '--out', join(dir, 'bad.onnx')]);
    assert.is(bad.code, 1);
    assert.match(bad.stderr, /weightFormat must be dense, sparse or sparse-int64, got 'csr'/);
    assert.not.ok(existsSync(join(dir, 'bad.onnx')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a sparse initializer with an index outside its tensor is refused, naming the file and the tensor', () => {
  const bytes = onnx.ModelProto.encode({
    irVersion: 8, opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g', node: [{ opType: 'MatMul', input: ['x', 'W'], output: ['y'] }],
      sparseInitializer: [{
        values: { name: 'W', dims: [2], dataType: 1, floatData: [1, 2] },
        indices: { dims: [2], dataType: 7, int64Data: [3, 12] },
        dims: [3, 4],
      }],
    },
  }).finish();
  try {
    parseModel(bytes, 'bad.onnx');
    assert.unreachable('accepted an index past the end');
  } catch (err) {
    assert.instance(err, InputError);
    assert.match((err as Error).message, /bad\.onnx: sparse initializer 'W' has index 12 outside its 12 entries/);
  }
});

test.run();

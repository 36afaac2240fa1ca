// Whole-network pruning on small models: the output runs in onnxruntime, the schemes keep their
// promises (planted sparsity found, cascade keeps W0 feasible), the search hits its target.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ort from 'onnxruntime-node';
import { onnxBackend } from '../src/onnx/backend.ts';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { InputError } from '../src/errors.ts';
import { findLayers } from '../src/onnx/layers.ts';
import { initializerValues, parseModel } from '../src/onnx/model.ts';
import { onnx } from '../src/onnx/proto.ts';
import { mulberry32 } from '../src/onnx/sampling.ts';
import { collectSignals } from '../src/onnx/signals.ts';
import { countNonzero } from '../src/graph/weights.ts';
import { SolverPool } from '../src/layer/pool.ts';
import { pruneModel } from '../src/prune/index.ts';
import { keepLargest } from '../src/prune/magnitude.ts';
import { buildProgram, trainedProgram } from '../src/prune/programs.ts';
import { cascadeStep, solveCascade, type PruneContext } from '../src/prune/schemes.ts';
import { DEFAULT_PRUNE_SETTINGS } from '../src/prune/types.ts';
import { ALLOCATION_GAINS } from '../src/prune/allocate.ts';
import { TrimStatus } from '../src/types.ts';

const random = mulberry32(2024);
const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** n values, each zero with probability `zeros`, else Gaussian with standard deviation `scale`. */
function sparseValues(n: number, zeros: number, scale: number): number[] {
  return Array.from({ length: n }, () => (random() < zeros ? 0 : scale * gaussian()));
}

function data(samples: number, width: number): { data: Float32Array; shape: number[] } {
  return { data: Float32Array.from({ length: samples * width }, gaussian), shape: [samples, width] };
}

/** x(24) -> Gemm(transB) 24x20 + Relu -> MatMul 20x12 + Add + Relu -> MatMul 12x5 (logits). */
function mlp(zeros = 0): Uint8Array {
  return new GraphBuilder('mlp')
    .input('x', ['N', 24])
    .initializer('W1', [20, 24], sparseValues(480, zeros, 0.3)).initializer('b1', [20], sparseValues(20, 0, 0.1))
    .node('Gemm', ['x', 'W1', 'b1'], ['h1'], { transB: 1 }, 'fc1').node('Relu', ['h1'], ['a1'], {}, 'relu1')
    .initializer('W2', [20, 12], sparseValues(240, zeros, 0.4)).initializer('b2', [12], sparseValues(12, 0, 0.1))
    .node('MatMul', ['a1', 'W2'], ['m2'], {}, 'fc2').node('Add', ['m2', 'b2'], ['h2'], {}, 'fc2.bias').node('Relu', ['h2'], ['a2'])
    .initializer('W3', [12, 5], sparseValues(60, zeros, 0.5))
    .node('MatMul', ['a2', 'W3'], ['logits'], {}, 'fc3')
    .output('logits', ['N', 5])
    .toBytes({ metadata: { purpose: 'test' }, docString: 'small MLP' });
}

/** x[1,8,8] -> Conv 4x(1x3x3) pad 1 + Relu -> MaxPool 2 -> Conv 6x(2x3x3) group 2 stride 2 pad 1 + Relu -> Flatten -> Gemm 24x3. */
function convNet(): Uint8Array {
  return new GraphBuilder('cnn')
    .input('x', ['N', 1, 8, 8])
    .initializer('K1', [4, 1, 3, 3], sparseValues(36, 0, 0.5)).initializer('B1', [4], sparseValues(4, 0, 0.1))
    .node('Conv', ['x', 'K1', 'B1'], ['c1'], { pads: [1, 1, 1, 1] }, 'conv1').node('Relu', ['c1'], ['r1'])
    .node('MaxPool', ['r1'], ['p1'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool')
    .initializer('K2', [6, 2, 3, 3], sparseValues(108, 0, 0.5)).initializer('B2', [6], sparseValues(6, 0, 0.1))
    .node('Conv', ['p1', 'K2', 'B2'], ['c2'], { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] }, 'conv2').node('Relu', ['c2'], ['r2'])
    .node('Flatten', ['r2'], ['f'], { axis: 1 }, 'flatten')
    .initializer('W3', [3, 24], sparseValues(72, 0, 0.5)).initializer('b3', [3], [0, 0, 0])
    .node('Gemm', ['f', 'W3', 'b3'], ['y'], { transB: 1 }, 'fc')
    .output('y', ['N', 3])
    .toBytes();
}

async function runModel(bytes: Uint8Array, name: string, x: { data: Float32Array; shape: number[] }): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(bytes);
  const result = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', x.data, x.shape) });
  return result[name]!;
}

/** The decoded model as plain data without any initializer values: must not change. */
function structure(bytes: Uint8Array): unknown {
  const o = onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: String, bytes: String, defaults: true });
  for (const t of o.graph.initializer) {
    t.rawData = '';
    t.floatData = [];
  }
  return o;
}

test('MLP (Gemm, MatMul+Add, MatMul): the pruned model runs in onnxruntime, only weights changed', async () => {
  const bytes = mlp();
  const calib = data(400, 24);
  // dense: this checks the patch writer's promise (test/sparse-onnx.test.ts covers the sparse files)
  const { model, report } = await pruneModel(bytes, calib, { epsilon: 0.1, weightFormat: 'dense' });
  assert.equal(structure(model), structure(bytes));
  const y = await runModel(model, 'logits', data(7, 24));
  assert.equal(y.dims, [7, 5]);
  assert.ok((y.data as Float32Array).every(Number.isFinite));
  assert.equal(report.layers.map((l) => [l.name, l.op, l.activation, l.inputs, l.outputs]), [
    ['fc1', 'Gemm', 'relu', 24, 20], ['fc2', 'MatMul', 'relu', 20, 12], ['fc3', 'MatMul', 'linear', 12, 5],
  ]);
  const pruned = parseModel(model, 'pruned');
  for (const [layer, name] of [[0, 'W1'], [1, 'W2'], [2, 'W3']] as const) {
    const l = report.layers[layer]!;
    assert.is(l.nnzAfter, countNonzero(initializerValues(pruned, name)));
    assert.ok(l.nnzAfter < l.nnzBefore, `${name} lost no weight`);
    assert.is(l.samples, 400);
    assert.ok(l.relativeError <= l.epsilon * 1.02 + 1e-6, `${name}: error ${l.relativeError} > epsilon ${l.epsilon}`);
    assert.ok([TrimStatus.Solved, TrimStatus.SolvedInaccurate].includes(l.status));
  }
  assert.is(report.total.weights, 480 + 240 + 60);
  assert.is(report.total.nnzAfter, report.layers.reduce((n, l) => n + l.nnzAfter, 0));
  assert.ok(Math.abs(report.total.removedFraction - (1 - report.total.nnzAfter / report.total.weights)) < 1e-12);
  assert.ok(report.maxOutputChange > 0 && Number.isFinite(report.maxOutputChange));
  assert.is(report.eval, null);
});

test('a planted sparse network: at a small epsilon the weights land on the planted support', async () => {
  const bytes = mlp(0.8);
  const original = parseModel(bytes, 'planted');
  const { model, report } = await pruneModel(bytes, data(1500, 24), { epsilon: 0.005 });
  const pruned = parseModel(model, 'pruned');
  for (const [i, name] of ['W1', 'W2', 'W3'].entries()) {
    const planted = initializerValues(original, name);
    const found = initializerValues(pruned, name);
    let outside = 0;
    let l1 = 0;
    let distance = 0;
    let norm = 0;
    for (let k = 0; k < planted.length; k++) {
      l1 += Math.abs(found[k]!);
      if (planted[k] === 0) outside += Math.abs(found[k]!);
      distance += (found[k]! - planted[k]!) ** 2;
      norm += planted[k]! ** 2;
    }
    assert.is(report.layers[i]!.nnzBefore, countNonzero(planted));
    // A misaligned X, Y or weight layout would spread the mass over the whole matrix.
    assert.ok(outside < 0.01 * l1, `${name}: ${((100 * outside) / l1).toFixed(2)}% of the l1 mass off the planted support`);
    // Gaussian inputs (fc1): compressed-sensing recovery, the planted weights come back.
    if (name === 'W1') assert.ok(Math.sqrt(distance / norm) < 0.03, `W1 is ${Math.sqrt(distance / norm)} away from the planted weights`);
  }
});

test('conv network: both convolutions (grouped, strided) and the Gemm are pruned; the result runs', async () => {
  const bytes = convNet();
  const calib = { data: Float32Array.from({ length: 300 * 64 }, gaussian), shape: [300, 1, 8, 8] };
  // epsilon 0.15: at 0.1 this random conv1 (36 weights) keeps all of them now that its bias is free
  const { model, report } = await pruneModel(bytes, calib, { epsilon: 0.15, maxColumns: 2000, weightFormat: 'dense' });
  assert.equal(report.layers.map((l) => [l.name, l.groups, l.inputs, l.outputs]), [['conv1', 1, 9, 4], ['conv2', 2, 18, 3], ['fc', 1, 24, 3]]);
  assert.is(report.layers[0]!.samples, 2000); // 300 samples x 64 positions, sampled down to the budget
  assert.is(report.layers[1]!.samples, 300 * 4); // 2x2 outputs per sample: all of them fit
  for (const l of report.layers) assert.ok(l.nnzAfter < l.nnzBefore, `${l.name} kept everything`);
  assert.equal(structure(model), structure(bytes));
  const y = await runModel(model, 'y', { data: Float32Array.from({ length: 5 * 64 }, gaussian), shape: [5, 1, 8, 8] });
  assert.equal(y.dims, [5, 3]);
  assert.ok((y.data as Float32Array).every(Number.isFinite));
});

test('cascade: with V = W0^T Xhat + b0 and the gamma rule the trained weights are feasible, and the solution is no heavier', async () => {
  const model = parseModel(mlp(), 'mlp');
  const { layers } = findLayers(model);
  const calib = data(300, 24);
  const feeds = new Map([['x', calib]]);
  const settings = { ...DEFAULT_PRUNE_SETTINGS, scheme: 'cascade' as const };
  const trained = await collectSignals(model.bytes, 'mlp', layers, feeds, 300, { batchSize: 64, maxColumns: 4096, seed: 1 });
  const ctx: PruneContext = { backend: onnxBackend(model), layers, feeds, samples: 300, settings, pool: await SolverPool.create(), trained, progress: () => {} };
  const solution = await solveCascade(ctx, 0.1, null);
  for (const layer of layers.slice(1)) {
    const step = await cascadeStep(ctx, trained[layer.index]!, solution.layers.slice(0, layer.index), 0.1);
    assert.ok(step.data.bounds !== null || layer.activation === 'linear');
    const eps = step.epsilon(0);
    assert.ok('absolute' in eps, `${layer.name} should use the gamma rule`);
    // W0^T Xhat + b0 computed here from the stored tensors, not taken from the runtime.
    const w0 = trainedProgram(layer, 0, initializerValues(model, layer.weight), layer.bias ? initializerValues(model, layer.bias) : null);
    const { inputSize: n, outputSize: m } = layer;
    const xhat = step.signals.inputs;
    let gap = 0;
    let worstInactive = -Infinity;
    let l1w0 = 0;
    for (let k = 0; k < w0.length; k++) l1w0 += Math.abs(w0[k]!);
    for (let c = 0; c < step.signals.columns; c++) {
      for (let j = 0; j < m; j++) {
        let z = layer.bias ? w0[n * m + j]! : 0;
        for (let i = 0; i < n; i++) z += xhat[c * n + i]! * w0[i * m + j]!;
        assert.ok(Math.abs(z - step.signals.outputs[c * m + j]!) < 1e-4, 'runtime Zhat differs from W0^T Xhat + b0');
        const inBall = !step.data.regions || step.data.regions[c * m + j] === 0;
        if (inBall) gap += (z - step.data.targets[c * m + j]!) ** 2;
        else worstInactive = Math.max(worstInactive, z - step.data.bounds![c * m + j]!);
      }
    }
    assert.ok(Math.sqrt(gap) <= eps.absolute / Math.sqrt(1.1) * (1 + 1e-5), `${layer.name}: W0 outside the ball`);
    assert.ok(Math.sqrt(gap) > 0, `${layer.name}: pruning upstream should move its signals`);
    if (layer.activation === 'relu') assert.ok(worstInactive <= 1e-5, `${layer.name}: W0 violates V by ${worstInactive}`);
    // The l1 minimum over a set containing W0 cannot weigh more than W0 (up to solver tolerance).
    const program = buildProgram(step.signals, 0, step.data, null);
    const [result] = await ctx.pool.solveAll([{ input: program.input, settings: { epsilon: eps.absolute, epsilonMode: 'absolute', activation: layer.activation, bias: layer.bias !== null } }]);
    assert.ok(result!.l1 <= l1w0 * 1.01, `${layer.name}: l1 ${result!.l1} > trained ${l1w0}`);
    assert.ok(result!.relativeError <= result!.relativeEpsilon * 1.02 + 1e-6);
  }
  await ctx.pool.close();
});

test('--sparsity: the search (uniform) and the allocation (sensitivity) land within one point of the target and report their tries', async () => {
  const calib = data(300, 24);
  for (const allocation of ['uniform', 'sensitivity'] as const) {
    for (const target of [0.5, 0.8]) {
      const { report } = await pruneModel(mlp(), calib, { sparsity: target, allocation });
      const search = report.search!;
      assert.ok(search.reached, `${allocation}, target ${target}: ${JSON.stringify(search.tries)}`);
      assert.ok(Math.abs(report.total.removedFraction - target) <= 0.01);
      assert.is(search.removedFraction, report.total.removedFraction);
      assert.is(report.epsilon, search.epsilon);
      // the allocation walks its fixed path of gains (allocate.ts), the search stops at maxSearchTries
      assert.ok(search.tries.length <= (allocation === 'uniform' ? DEFAULT_PRUNE_SETTINGS.maxSearchTries : ALLOCATION_GAINS.length));
      assert.is(search.allocation === undefined, allocation === 'uniform');
      // both start at the starting epsilon (0.05): the allocation's whole-network path goes up from there
      assert.is(search.tries[0]!.epsilon, DEFAULT_PRUNE_SETTINGS.epsilon);
      if (allocation === 'sensitivity') for (let k = 1; k < search.tries.length; k++) assert.ok(search.tries[k]!.epsilon > search.tries[k - 1]!.epsilon);
    }
  }
});

/** The MLP pruned at epsilon 0.15 with an evaluation on its calibration data (labels are arbitrary). */
async function evaluatedRun() {
  const bytes = mlp();
  const calib = data(300, 24);
  const labels = { data: Float32Array.from({ length: 300 }, (_, i) => i % 5), shape: [300] };
  return { bytes, calib, ...await pruneModel(bytes, calib, { epsilon: 0.15 }, { evaluation: { inputs: calib, labels } }) };
}

test('magnitude baseline: the same per-layer counts, the largest trained weights', async () => {
  const { bytes, magnitudeModel, report } = await evaluatedRun();
  const original = parseModel(bytes, 'mlp');
  const baseline = parseModel(magnitudeModel, 'magnitude');
  for (const [i, name] of ['W1', 'W2', 'W3'].entries()) {
    const w = initializerValues(baseline, name);
    assert.is(countNonzero(w), report.layers[i]!.nnzAfter);
    assert.equal(Array.from(w), Array.from(keepLargest(initializerValues(original, name), report.layers[i]!.nnzAfter)));
  }
  assert.equal(Array.from(initializerValues(baseline, 'b1')), Array.from(initializerValues(original, 'b1')));
  const e = report.eval!;
  assert.is(e.samples, 300);
  for (const v of [e.accuracyBefore, e.accuracyAfter, e.accuracyMagnitude]) assert.ok(v >= 0 && v <= 1);
  assert.ok(e.maxOutputChange > 0);
  assert.equal(Array.from(keepLargest(new Float32Array([1, -5, 3, -3, 0.5]), 3)), [0, -5, 3, -3, 0]);
});

test('Wanda baseline: the same per-layer counts; in fc1, each output keeps its largest |W_ji| ||x_i||', async () => {
  const { bytes, calib, wandaModel, report } = await evaluatedRun();
  const original = parseModel(bytes, 'mlp');
  const wanda = parseModel(wandaModel, 'wanda');
  for (const [i, name] of ['W1', 'W2', 'W3'].entries()) assert.is(countNonzero(initializerValues(wanda, name)), report.layers[i]!.nnzAfter);
  assert.equal(Array.from(initializerValues(wanda, 'b1')), Array.from(initializerValues(original, 'b1')));
  // fc1 reads the model input: recompute its scores here from the calibration data and W1 (20 x 24, transB)
  const norms = Array.from({ length: 24 }, (_, i) => Math.sqrt(Array.from({ length: 300 }, (_, c) => calib.data[c * 24 + i]! ** 2).reduce((a, b) => a + b)));
  const w1 = initializerValues(original, 'W1'), kept = initializerValues(wanda, 'W1');
  for (let j = 0; j < 20; j++) {
    const row = Array.from({ length: 24 }, (_, i) => ({ i, score: Math.abs(w1[j * 24 + i]!) * norms[i]!, kept: kept[j * 24 + i] !== 0 }));
    const count = row.filter((r) => r.kept).length;
    const worstKept = Math.min(...row.filter((r) => r.kept).map((r) => r.score));
    const bestDropped = Math.max(...row.filter((r) => !r.kept).map((r) => r.score));
    assert.ok(count === 0 || count === 24 || worstKept >= bestDropped * (1 - 1e-6), `output ${j}: kept a score ${worstKept} below a dropped ${bestDropped}`);
    for (const r of row) if (r.kept) assert.is(kept[j * 24 + r.i], w1[j * 24 + r.i], 'kept weights keep their trained values');
  }
  const counts = Array.from({ length: 20 }, (_, j) => Array.from({ length: 24 }, (_, i) => kept[j * 24 + i] !== 0).filter(Boolean).length);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `per-output counts ${counts} are not an even share`);
  const e = report.eval!;
  assert.ok(e.accuracyWanda >= 0 && e.accuracyWanda <= 1 && e.maxOutputChangeWanda > 0);
  assert.ok(e.accuracySparseGpt >= 0 && e.accuracySparseGpt <= 1 && e.maxOutputChangeSparseGpt > 0);
});

async function expectInputError(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.instance(err, InputError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable('no error');
}

test('bad calibration, evaluation data and settings are refused before any solve', async () => {
  const bytes = mlp();
  const nan = data(50, 24);
  nan.data[24 * 7 + 3] = NaN;
  await expectInputError(pruneModel(bytes, nan), /value NaN at flat index 171 \(sample 7\)/);
  await expectInputError(pruneModel(bytes, data(50, 23)), /shape \[50, 23\] does not match the model input 'x' \[\?, 24\]/);
  await expectInputError(pruneModel(bytes, { ...data(50, 24), sourceDtype: '<f8', source: 'x64.npy' }), /x64.npy: dtype <f8 does not match/);
  await expectInputError(pruneModel(bytes, new Map([['y', data(50, 24)]])), /data for 'y', but the model's inputs are: x/);
  const labels = { data: new Float32Array(49), shape: [49], source: 'labels.npy' };
  await expectInputError(pruneModel(bytes, data(50, 24), {}, { evaluation: { inputs: data(50, 24), labels } }), /labels.npy: 49 labels for 50 evaluation samples/);
  await expectInputError(pruneModel(bytes, data(50, 24), { sparsity: 1.5 }), /sparsity must be in \(0, 1\)/);
  await expectInputError(pruneModel(bytes, data(50, 24), { gamma: 0.5 }), /gamma must be a finite number >= 1/);
  await expectInputError(pruneModel(convNet(), data(5, 64)), /shape \[5, 64\] does not match .*\[\?, 1, 8, 8\].*reshape it to \[5, 1, 8, 8\]/);
  const noLayers = new GraphBuilder().input('x', ['N', 4]).node('Relu', ['x'], ['y']).output('y').toBytes();
  await expectInputError(pruneModel(noLayers, data(5, 4)), /no prunable layer/);
});

test.run();

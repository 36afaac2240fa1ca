// Trimmed supports of the sensitivity allocation (src/prune/allocate-trim.ts): the cut keeps each
// output's count and its largest |w| ||x||, and a --sparsity run reports which layers got one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { InputError } from '../src/errors.ts';
import { initializerValues, parseModel } from '../src/onnx/model.ts';
import { mulberry32 } from '../src/onnx/sampling.ts';
import { countNonzero } from '../src/graph/weights.ts';
import type { ModelLayer } from '../src/graph/layer.ts';
import type { LayerSignals } from '../src/prune/backend.ts';
import type { LayerSolution } from '../src/prune/programs.ts';
import { trimBy, trimTo } from '../src/prune/allocate-trim.ts';
import { ALLOCATION_GAINS } from '../src/prune/allocate.ts';
import { formatReport, pruneModel } from '../src/prune/index.ts';

const random = mulberry32(77);
const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

/** A layer solution of n inputs (+ bias row) and m outputs with the given program weights. */
function solution(n: number, m: number, program: number[]): LayerSolution {
  const layer = { inputSize: n, outputSize: m, groups: 1, bias: 'b', name: 'l' } as unknown as ModelLayer;
  return {
    layer, weight: new Float32Array(n * m), bias: new Float32Array(m), results: [], programs: [Float32Array.from(program)], columns: 0,
    epsilons: [], targetNorms: [], solverNorms: [], refit: { relativeErrorBefore: 0.5, meanStep: 1 }, seconds: 0,
  };
}

test('trimTo keeps in each output the count of the sparser solution, the largest |w_ij| ||X_i||, and every bias', () => {
  // 4 inputs, 2 outputs, program rows i = 0..3 then the bias row; input norms 1, 2, 3, 0.5
  const n = 4, m = 2;
  const columns = 2;
  const inputs = Float32Array.from([1, 2, 3, 0.5, 0, 0, 0, 0]); // one nonzero column: ||X_i|| = |x_i|
  const signals = { columns, inputWidth: n, inputs } as unknown as LayerSignals;
  const denser = solution(n, m, [
    1.0, 0.1, // i = 0: scores 1.0, 0.1
    0.4, 0.3, //     1: 0.8, 0.6
    0.2, 0.0, //     2: 0.6, (zero)
    3.0, 4.0, //     3: 1.5, 2.0
    0.7, -0.2, // bias
  ]);
  // the sparser solution keeps 2 weights of output 0 and 3 of output 1 (which has only 3 nonzero)
  const sparser = solution(n, m, [1, 1, 0, 1, 0, 0, 1, 1, 0, 0]);
  const out = trimTo(denser, sparser, signals, 0.4);
  assert.equal([...out.programs[0]!].map((v) => Math.round(v * 10) / 10), [
    1.0, 0.1,
    0.0, 0.3,
    0.0, 0.0,
    3.0, 4.0,
    0.7, -0.2,
  ]);
  assert.is(out.trimmedAt, 0.4);
  assert.is(out.refit, null);
  assert.equal([...denser.programs[0]!].slice(0, 2), [1, Math.fround(0.1)], 'the denser solution is not changed');
});

test('trimBy keeps a fraction of each output\'s own count, at least one where it kept any', () => {
  const n = 4, m = 3;
  const signals = { columns: 1, inputWidth: n, inputs: Float32Array.from([1, 1, 1, 1]) } as unknown as LayerSignals;
  const denser = solution(n, m, [
    4, 1, 0,
    3, 0, 0,
    2, 0, 0,
    1, 0, 0,
    9, 9, 9, // bias
  ]);
  const out = trimBy(denser, 0.5, signals, 0.97);
  assert.equal([...out.programs[0]!], [
    4, 1, 0,
    3, 0, 0,
    0, 0, 0,
    0, 0, 0,
    9, 9, 9,
  ]);
  assert.is(out.trimmedAt, 0.97);
});

/** x(24) -> Gemm 24x20 + Relu -> MatMul 20x12 + Relu -> MatMul 12x5, Gaussian weights. */
function mlp(): Uint8Array {
  const values = (k: number, s: number) => Array.from({ length: k }, () => s * gaussian());
  return new GraphBuilder('mlp')
    .input('x', ['N', 24])
    .initializer('W1', [20, 24], values(480, 0.3)).initializer('b1', [20], values(20, 0.1))
    .node('Gemm', ['x', 'W1', 'b1'], ['h1'], { transB: 1 }, 'fc1').node('Relu', ['h1'], ['a1'])
    .initializer('W2', [20, 12], values(240, 0.4))
    .node('MatMul', ['a1', 'W2'], ['h2'], {}, 'fc2').node('Relu', ['h2'], ['a2'])
    .initializer('W3', [12, 5], values(60, 0.5))
    .node('MatMul', ['a2', 'W3'], ['logits'], {}, 'fc3')
    .output('logits', ['N', 5])
    .toBytes();
}

test('--sparsity 0.8: with trimmed supports the target is met, the report names them, and the written weights have the reported counts', async () => {
  const bytes = mlp();
  const calib = { data: Float32Array.from({ length: 300 * 24 }, gaussian), shape: [300, 24] };
  const on = await pruneModel(bytes, calib, { sparsity: 0.8 });
  const off = await pruneModel(bytes, calib, { sparsity: 0.8, trimSupports: false });
  for (const { report } of [on, off]) {
    assert.ok(report.search!.reached, JSON.stringify(report.search));
    assert.ok(Math.abs(report.total.removedFraction - 0.8) <= 0.01);
  }
  assert.ok(off.report.layers.every((l) => l.trimmedAt === null));
  const trimmed = on.report.layers.filter((l) => l.trimmedAt !== null);
  assert.ok(trimmed.length > 0, 'a random MLP at 80% takes at least one trimmed support');
  // a gain of the path, or one the count's interpolation tried (allocate.ts refine)
  for (const l of trimmed) assert.ok(l.trimmedAt! >= ALLOCATION_GAINS[0]! && l.trimmedAt! <= ALLOCATION_GAINS.at(-1)!, `${l.name}: ${l.trimmedAt}`);
  assert.match(formatReport(on.report), new RegExp(`trimmed supports .*${trimmed[0]!.name} at g`));
  // the file holds what the report says, and runs
  const model = parseModel(on.model as Uint8Array);
  for (const [layer, tensor] of [['fc1', 'W1'], ['fc2', 'W2'], ['fc3', 'W3']] as const) {
    assert.is(countNonzero(initializerValues(model, tensor)), on.report.layers.find((l) => l.name === layer)!.nnzAfter, layer);
  }
  const session = await ort.InferenceSession.create(on.model as Uint8Array);
  const result = await session.run({ x: new ort.Tensor('float32', calib.data.subarray(0, 24 * 4), [4, 24]) });
  assert.ok(Array.from(result.logits!.data as Float32Array).every(Number.isFinite));
});

test('trimSupports must be a boolean', async () => {
  const calib = { data: new Float32Array(10 * 24).fill(0.5), shape: [10, 24] };
  try {
    await pruneModel(mlp(), calib, { trimSupports: 'yes' as unknown as boolean });
    assert.unreachable('accepted');
  } catch (e) {
    assert.instance(e, InputError);
    assert.match((e as Error).message, /trimSupports must be true or false, got yes/);
  }
});

test.run();

// Which shapes onnxruntime-node runs fast (issue 10: is the structured model faster?): the latency
// at batch 256, one intra-op thread, of MLPs and CNNs shaped like the shipped ones after pruning,
// built here with random weights (a dense product's time does not depend on the values).
//   widths: the MLP's fc1 and fc2 widths (the CPU Gemm works in panels of output columns)
//   input:  reading fewer of the 784 pixels: Gather(axis 1) of a subset, a Slice of a contiguous
//           range, or (were the 28 x 28 image known) Reshape + Slice of a rectangle + Reshape
//   cnn:    the CNN's channel counts (conv1, conv2, fc1)
// Each model runs 5 times per round, the best of the 5 kept; rounds interleave the models; the
// median over rounds is printed, with its ratio to the first (trained-shape) model.
//
//   nice -n 5 node --import tsx bench/ort-shapes.ts widths|input|cnn [--rounds 15] [--batch 256]
import * as ort from 'onnxruntime-node';
import { GraphBuilder } from '../src/onnx/builder.ts';
import { onnx } from '../src/onnx/proto.ts';
import { option } from './common.ts';

const INT64 = 7;
let state = 1;
/** A seeded uniform in [-0.5, 0.5) (a linear congruential generator: the values do not matter, only the shapes). */
const uniform = () => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648 - 0.5; };
const fill = (n: number) => Float32Array.from({ length: n }, () => 0.1 * uniform());

/** How the MLP reads its 784 inputs: all, a Gather of `pixels` of them, a Slice [from, to), or a crop of the 28 x 28 image. */
type InputCut = { kind: 'all' } | { kind: 'gather'; pixels: number } | { kind: 'slice'; from: number; to: number } | { kind: 'crop'; rows: [number, number]; cols: [number, number] };

/** The model with int64 initializers added (the builder writes float ones only). */
function withInt64s(bytes: Uint8Array, tensors: Array<[string, number[]]>): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  for (const [name, values] of tensors) {
    const raw = new Uint8Array(8 * values.length), view = new DataView(raw.buffer);
    values.forEach((x, i) => view.setBigInt64(8 * i, BigInt(x), true));
    m.graph!.initializer.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: INT64, rawData: raw }));
  }
  return onnx.ModelProto.encode(m).finish();
}

/** input[N, 784] -> (cut) -> Gemm + Relu per width, the last without Relu. */
function mlp(widths: number[], cut: InputCut = { kind: 'all' }): Uint8Array {
  const b = new GraphBuilder('mlp').input('input', ['N', 784]);
  const ints: Array<[string, number[]]> = [];
  let x = 'input', n = 784;
  if (cut.kind === 'gather') {
    // a sorted random subset: which pixels does not matter to the copy's cost
    const order = Array.from({ length: 784 }, (_, i) => i).sort(() => uniform());
    ints.push(['idx', order.slice(0, cut.pixels).sort((a, c) => a - c)]);
    b.node('Gather', ['input', 'idx'], ['cut'], { axis: 1 });
    n = cut.pixels;
  } else if (cut.kind === 'slice') {
    ints.push(['from', [cut.from]], ['to', [cut.to]], ['axis', [1]]);
    b.node('Slice', ['input', 'from', 'to', 'axis'], ['cut']);
    n = cut.to - cut.from;
  } else if (cut.kind === 'crop') {
    ints.push(['image', [0, 28, 28]], ['from', [cut.rows[0], cut.cols[0]]], ['to', [cut.rows[1], cut.cols[1]]], ['axes', [1, 2]], ['flat', [0, -1]]);
    b.node('Reshape', ['input', 'image'], ['img']).node('Slice', ['img', 'from', 'to', 'axes'], ['box']).node('Reshape', ['box', 'flat'], ['cut']);
    n = (cut.rows[1] - cut.rows[0]) * (cut.cols[1] - cut.cols[0]);
  }
  if (cut.kind !== 'all') x = 'cut';
  widths.forEach((m, k) => {
    b.initializer(`W${k}`, [n, m], fill(n * m)).initializer(`b${k}`, [m], fill(m)).node('Gemm', [x, `W${k}`, `b${k}`], [`h${k}`]);
    x = `h${k}`;
    if (k < widths.length - 1) b.node('Relu', [x], [x = `a${k}`]);
    n = m;
  });
  return withInt64s(b.output(x, ['N', widths.at(-1)!]).toBytes(), ints);
}

/** The shipped CNN's graph with c1 and c2 conv channels and f hidden neurons. */
function cnn(c1: number, c2: number, f: number): Uint8Array {
  return new GraphBuilder('cnn').input('input', ['N', 1, 28, 28])
    .initializer('K1', [c1, 1, 5, 5], fill(c1 * 25)).initializer('B1', [c1], fill(c1))
    .node('Conv', ['input', 'K1', 'B1'], ['c1'], { kernel_shape: [5, 5] }).node('Relu', ['c1'], ['r1'])
    .node('MaxPool', ['r1'], ['p1'], { kernel_shape: [2, 2], strides: [2, 2] })
    .initializer('K2', [c2, c1, 3, 3], fill(c2 * c1 * 9)).initializer('B2', [c2], fill(c2))
    .node('Conv', ['p1', 'K2', 'B2'], ['c2'], { kernel_shape: [3, 3] }).node('Relu', ['c2'], ['r2'])
    .node('MaxPool', ['r2'], ['p2'], { kernel_shape: [2, 2], strides: [2, 2] }).node('Flatten', ['p2'], ['flat'], { axis: 1 })
    .initializer('W1', [c2 * 25, f], fill(c2 * 25 * f)).initializer('b1', [f], fill(f)).node('Gemm', ['flat', 'W1', 'b1'], ['h'])
    .node('Relu', ['h'], ['a']).initializer('W2', [f, 10], fill(f * 10)).initializer('b2', [10], fill(10)).node('Gemm', ['a', 'W2', 'b2'], ['y'])
    .output('y', ['N', 10]).toBytes();
}

const set = process.argv[2] ?? 'widths';
const rounds = Number(option(process.argv, '--rounds') ?? 15), batch = Number(option(process.argv, '--batch') ?? 256);
const models: Array<[string, Uint8Array]> = [];
if (set === 'widths') {
  models.push(['784-300-100-10 (trained)', mlp([300, 100, 10])]);
  for (const w of [128, 129, 143, 144, 145, 151, 160, 161, 176]) models.push([`784-${w}-50-10`, mlp([w, 50, 10])]);
  for (const w of [48, 64, 92, 100]) models.push([`784-142-${w}-10`, mlp([142, w, 10])]);
} else if (set === 'input') {
  models.push(['784-300-100-10 (trained)', mlp([300, 100, 10])], ['784-151-50-10', mlp([151, 50, 10])]);
  for (const pixels of [467, 320]) models.push([`Gather ${pixels} -151-50-10`, mlp([151, 50, 10], { kind: 'gather', pixels })]);
  for (const [from, to] of [[42, 773], [84, 700], [112, 672]] as const) models.push([`Slice ${from}..${to} -151-50-10`, mlp([151, 50, 10], { kind: 'slice', from, to })]);
  for (const [a, z] of [[3, 25], [4, 24]] as const) models.push([`crop ${a}..${z} x ${a}..${z} -151-50-10`, mlp([151, 50, 10], { kind: 'crop', rows: [a, z], cols: [a, z] })]);
} else if (set === 'cnn') {
  for (const [a, b, f] of [[8, 16, 64], [6, 11, 44], [5, 11, 44], [4, 11, 44], [8, 16, 44], [8, 8, 44], [6, 16, 44], [4, 16, 44], [4, 8, 44]] as const) models.push([`cnn ${a}-${b}-${f}`, cnn(a, b, f)]);
} else throw new Error(`bench/ort-shapes.ts: unknown set '${set}' (widths, input or cnn)`);

const shape = set === 'cnn' ? [1, 28, 28] : [784];
const sessions = await Promise.all(models.map(([, bytes]) => ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' })));
const x = new ort.Tensor('float32', fill(batch * shape.reduce((a, b) => a * b, 1)).map(Math.abs), [batch, ...shape]);
const times = models.map(() => [] as number[]);
for (let round = -2; round < rounds; round++) {
  for (const [i, s] of sessions.entries()) {
    let best = Infinity;
    for (let k = 0; k < 5; k++) {
      const started = performance.now();
      await s.run({ input: x });
      best = Math.min(best, performance.now() - started);
    }
    if (round >= 0) times[i]!.push(best);
  }
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!;
const base = median(times[0]!);
for (const [i, [name]] of models.entries()) {
  process.stdout.write(`${name.padEnd(32)} ${median(times[i]!).toFixed(3)} ms  ${(base / median(times[i]!)).toFixed(2)}x\n`);
}

// The SIMD product kernel against the scalar build and a float64 loop: every product the solver
// uses is this kernel with different strides, so it is checked for both stride patterns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LayerSolver } from '../src/index.ts';
import { WasmKernels } from '../src/wasm/interface.ts';
import { FLAVOURS, readBundledWasm } from '../src/wasm/load.ts';
import { fill, gaussian, seededRandom } from './helpers/random.ts';

/** C = A'B in float64: A is rows x depth (transA false) or depth x rows (true). */
function productF64(a: Float32Array, b: Float32Array, rows: number, cols: number, depth: number, transA: boolean) {
  const c = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < depth; k++) {
      const aik = transA ? a[k * rows + i] : a[i * depth + k];
      for (let j = 0; j < cols; j++) c[i * cols + j] += aik * b[k * cols + j];
    }
  }
  return c;
}

function maxRelativeError(got: Float32Array, want: Float64Array): number {
  let scale = 0, worst = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst / scale;
}

// Shapes cross the kernel's block sizes (256 deep, 64 rows) and include the smallest legal tile;
// the last two have B's row stride a multiple of 128 floats (B packed), one past the 1024-column panel.
const SHAPES: [number, number, number][] = [[4, 8, 1], [12, 16, 7], [68, 24, 300], [132, 40, 520], [8, 128, 260], [12, 1152, 264]];

for (const flavour of ['simd', 'scalar'] as const) {
  for (const transA of [false, true]) {
    test(`${flavour} kernel, ${transA ? 'A^T B' : 'A B'}, matches a float64 product`, async () => {
      const k = await WasmKernels.create({ flavour });
      assert.is(k.flavour, flavour);
      const draw = gaussian(seededRandom(7));
      for (const [rows, cols, depth] of SHAPES) {
        const a = fill(rows * depth, draw), b = fill(depth * cols, draw);
        const err = maxRelativeError(k.product(a, b, rows, cols, depth, transA), productF64(a, b, rows, cols, depth, transA));
        assert.ok(err < 1e-5, `${rows}x${cols}x${depth}: max error ${err} relative to the largest entry`);
      }
    });
  }
}

test('the default flavour is the first build this runtime validates', async () => {
  const k = await WasmKernels.create();
  let expected = '';
  for (const f of FLAVOURS) {
    if (WebAssembly.validate(await readBundledWasm(f))) { expected = f; break; }
  }
  assert.is(k.flavour, expected);
  assert.is.not(k.flavour, 'scalar', 'every runtime we support has SIMD128');
});

test('product refuses shapes the kernel cannot tile', async () => {
  const k = await WasmKernels.create({ flavour: 'simd' });
  assert.throws(() => k.product(new Float32Array(6 * 3), new Float32Array(3 * 8), 6, 8, 3, false), /rows % 4 == 0/);
  assert.throws(() => k.product(new Float32Array(5), new Float32Array(3 * 8), 4, 8, 3, false), /A has 5 entries/);
});

test('a whole solve: the SIMD build and the scalar reference build reach the same weights', async () => {
  // every element-wise step has a SIMD and a scalar form; their roundings differ, their answers must not
  const rand = seededRandom(17), draw = gaussian(rand);
  const [p, n, m] = [400, 36, 12];
  const inputs = fill(p * n, draw), teacher = fill(n * m, () => (rand() < 0.25 ? draw() : 0));
  const outputs = new Float32Array(p * m);
  for (let q = 0; q < p; q++) for (let j = 0; j < m; j++) {
    let v = 0;
    for (let r = 0; r < n; r++) v += inputs[q * n + r] * teacher[r * m + j];
    outputs[q * m + j] = Math.max(0, v);
  }
  const layer = { inputs, outputs, samples: p, inputSize: n, outputSize: m };
  const results = [];
  for (const flavour of ['simd', 'scalar'] as const) {
    const solver = await LayerSolver.create({ flavour, threads: 1 });
    assert.is(solver.flavour, flavour);
    results.push(solver.solve(layer, { epsilon: 0.1, relTol: 1e-5 }));
  }
  const [simd, scalar] = results;
  assert.is(simd.status, 'solved');
  assert.is(scalar.status, 'solved');
  assert.ok(Math.abs(simd.l1 - scalar.l1) <= 1e-4 * scalar.l1, `l1 ${simd.l1} (simd) vs ${scalar.l1} (scalar)`);
  let scale = 0;
  for (const v of scalar.weights) scale = Math.max(scale, Math.abs(v));
  for (let i = 0; i < scalar.weights.length; i++) {
    assert.ok(Math.abs(simd.weights[i] - scalar.weights[i]) <= 1e-3 * scale, `weight ${i}: ${simd.weights[i]} vs ${scalar.weights[i]}`);
  }
});

test.run();

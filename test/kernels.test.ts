// The SIMD product kernel against the scalar build and a float64 loop: every product the solver
// uses is this kernel with different strides, so it is checked for both stride patterns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
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

// Shapes cross the kernel's block sizes (256 deep, 64 rows) and include the smallest legal tile.
const SHAPES: [number, number, number][] = [[4, 8, 1], [12, 16, 7], [68, 24, 300], [132, 40, 520]];

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

test.run();

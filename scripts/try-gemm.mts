import { WasmKernels } from '../src/wasm/interface.ts';
const flavour = (process.argv[2] ?? 'simd') as any;
const k = await WasmKernels.create({ flavour, threads: Number(process.argv[3] ?? 1) });
function rnd(n: number) { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5; return a; }
for (const [rows, cols, depth, t] of [[4000, 304, 792, false], [792, 304, 4000, true], [792, 304, 792, false], [792, 792, 4000, true]] as const) {
  const a = rnd(rows * depth), b = rnd(depth * cols);
  const run = k.productRunner(a, b, rows, cols, depth, t);
  run(1);
  const reps = 10, t0 = performance.now(); run(reps); const dt = (performance.now() - t0) / 1000 / reps;
  console.log(`${flavour} ${t ? 'TN' : 'NN'} ${rows}x${cols}x${depth}: ${(dt * 1000).toFixed(1)} ms, ${(2 * rows * cols * depth / dt / 1e9).toFixed(1)} GFLOP/s`);
}

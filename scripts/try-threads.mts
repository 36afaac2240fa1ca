import { WasmKernels } from '../src/wasm/interface.ts';
for (const threads of [1, 2]) {
  const k = await WasmKernels.create({ threads, flavour: 'simd' });
  const rnd = (n: number) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.37); return a; };
  for (const [rows, cols, depth, t] of [[4000, 304, 792, false], [792, 304, 4000, true]] as const) {
    const run = k.productRunner(rnd(rows * depth), rnd(depth * cols), rows, cols, depth, t);
    run(1); const t0 = performance.now(); run(10); const dt = (performance.now() - t0) / 10000;
    console.log(`threads ${k.threads} ${t ? 'TN' : 'NN'}: ${(dt * 1e3).toFixed(1)} ms ${(2 * rows * cols * depth / dt / 1e9).toFixed(1)} GFLOP/s`);
  }
  await k.close();
}

// The app of test/runtimes/bundlers.test.ts: imports nettrim as a user would, and is built by Vite,
// webpack 5 and esbuild with no nettrim-specific configuration. It solves the planted layer of
// docs/runtimes.md and posts what it got, with the build and the threads it ran on, to the page's server.
import { LayerSolver, trimLayer } from 'nettrim';

async function post(body) {
  await fetch('/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

try {
  let seed = 1;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
  const samples = 64, inputs = new Float32Array(samples * 4).map(random), outputs = new Float32Array(samples);
  for (let p = 0; p < samples; p++) outputs[p] = 2 * inputs[p * 4] - inputs[p * 4 + 2];
  const result = await trimLayer(
    { inputs, outputs, samples, inputSize: 4, outputSize: 1 },
    { epsilon: 0, activation: 'linear', bias: false },
  );
  const solver = await LayerSolver.create();
  await post({
    status: result.status, weights: Array.from(result.weights, (w) => +w.toFixed(3)),
    flavour: solver.flavour, threads: solver.threads, isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency,
  });
  await solver.close();
} catch (err) {
  await post({ error: String(err?.stack ?? err) });
}

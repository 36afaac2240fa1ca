// Driver for Chromium on a page that is NOT cross-origin isolated: no shared memory, so no threads,
// but solves must still leave the page's thread free (a Web Worker with its own copy: src/wasm/solo.ts)
// and give the same answers. Posts its JSON to the page's server (test/runtimes.test.ts).
import * as nettrim from 'nettrim';
import { runPlantedCase } from './planted-case.ts';

async function post(body: unknown) {
  await fetch('/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

addEventListener('error', (e) => void post({ error: `${e.message} at ${e.filename}:${e.lineno}` }));
addEventListener('unhandledrejection', (e) => void post({ error: String((e.reason as Error)?.stack ?? e.reason) }));

const report = await runPlantedCase(nettrim);
const solver = await nettrim.LayerSolver.create();
// a layer of a few hundred milliseconds: the page's timers must keep firing while it is solved
let seed = 7;
const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
const [p, n, m] = [3000, 200, 40];
const inputs = new Float32Array(p * n).map(random), outputs = new Float32Array(p * m);
for (let q = 0; q < p; q++) for (let j = 0; j < m; j++) outputs[q * m + j] = Math.max(0, inputs[q * n + j] - inputs[q * n + j + 40]);
let ticks = 0;
const timer = setInterval(() => ticks++, 0);
const layer = await solver.solveAsync({ inputs, outputs, samples: p, inputSize: n, outputSize: m }, { epsilon: 0.05 });
clearInterval(timer);
// and cancelling: the solve is stopped by terminating the worker; the next one starts a new worker
let cancelled = 'not cancelled';
try {
  await solver.solveAsync({ inputs, outputs, samples: p, inputSize: n, outputSize: m }, { epsilon: 0.05 }, { signal: AbortSignal.timeout(20) });
} catch (err) {
  cancelled = (err as Error).name;
}
const again = await solver.solveAsync({ inputs, outputs, samples: p, inputSize: n, outputSize: m }, { epsilon: 0.05 });
const same = again.weights.every((v, i) => v === layer.weights[i]);
// a pool: without shared memory its lanes are one-thread workers, as many as the page has cores
const pool = await nettrim.SolverPool.create();
const jobs = Array.from({ length: 4 }, () => ({ input: { inputs, outputs, samples: p, inputSize: n, outputSize: m }, settings: { epsilon: 0.05 } }));
const pooled = await pool.solveAll(jobs);
const plan = pool.lastPlan!;
await pool.close();
await post({
  report, isolated: crossOriginIsolated, threads: solver.threads, inWorker: solver.inWorker,
  ticks, status: layer.status, seconds: layer.seconds, cancelled, sameAfterCancel: same,
  cores: navigator.hardwareConcurrency, poolLanes: plan.lanes, poolThreadsPerLane: plan.threadsPerLane,
  poolSame: pooled.every((r) => r.weights.every((v, i) => v === layer.weights[i])),
});

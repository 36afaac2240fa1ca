// Independent layer programs side by side (issue 5, item 2): for sets of programs shaped like real
// networks, the time to solve them all (a) one after another with every thread on each product,
// (b) side by side, one thread each, and which of them SolverPool's plan picks (src/layer/lanes.ts). Also prints
// each program's time per iteration on 1 thread and on the threads a lone lane gives it (all, or
// fewer for a small program): the data the plan's cost model rests on.
//
//   node --import tsx bench/lanes.ts [--threads T] [--repeats R] [--json FILE]
//
// Times are the best of R passes (default 2), the lane counts interleaved.
//
// The mnist-mlp set reads ../shared/data/mnist-mlp (the three trained layers, as the parallel scheme
// solves them); the others are planted ReLU layers with the shapes of the demo's conv net, of a
// depthwise 3x3 conv (one program per channel) and of a grouped conv.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readNpyFile } from '../src/io/npy.ts';
import { planLanes, predictSeconds, shapeOf } from '../src/layer/lanes.ts';
import { SolverPool, type LayerJob } from '../src/layer/pool.ts';
import type { TrimResult } from '../src/types.ts';
import { availableThreads } from '../src/wasm/pool.ts';
import { plantedRelu } from '../test/helpers/random.ts';
import { emitJson, fmt, formatTable, machineInfo, option } from './common.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MLP_DATA = path.resolve(REPO, '../shared/data/mnist-mlp');

interface ProgramSet { name: string; jobs: LayerJob[] }

/** A planted ReLU layer (30%-dense teacher) as a job at epsilon 0.05. */
function planted(seed: number, p: number, n: number, m: number): LayerJob {
  return { input: plantedRelu(seed, p, n, m, 0.3), settings: { epsilon: 0.05 } };
}

async function mlpSet(): Promise<ProgramSet | null> {
  if (!existsSync(MLP_DATA)) return null;
  const read = (f: string) => readNpyFile(path.join(MLP_DATA, `${f}.npy`));
  const [x0, y0, y1, y2] = await Promise.all(['x0', 'y0', 'y1', 'y2'].map(read));
  const layer = (x: typeof x0, y: typeof x0, activation: 'relu' | 'linear'): LayerJob => ({
    input: { inputs: x!.data, outputs: y!.data, samples: x!.shape[0]!, inputSize: x!.shape[1]!, outputSize: y!.shape[1]! },
    settings: { epsilon: 0.05, activation },
  });
  return { name: 'mnist-mlp: 784-300-100-10', jobs: [layer(x0, y0, 'relu'), layer(y0, y1, 'relu'), layer(y1, y2, 'linear')] };
}

function sets(): ProgramSet[] {
  return [
    { name: 'conv net: 25x8, 72x16, 400x64, 64x10', jobs: [planted(1, 4096, 25, 8), planted(2, 4096, 72, 16), planted(3, 2000, 400, 64), planted(4, 2000, 64, 10)] },
    { name: 'depthwise 3x3, 32 channels', jobs: Array.from({ length: 32 }, (_, k) => planted(10 + k, 4096, 9, 1)) },
    { name: 'grouped conv, 16 groups of 72x16', jobs: Array.from({ length: 16 }, (_, k) => planted(50 + k, 4096, 72, 16)) },
  ];
}

interface Run { seconds: number; lanes: number; threadsPerLane: number; predicted: number; results: TrimResult[] }

/**
 * Times the set under each lane count in `laneCounts`, best of `repeats` passes, the lane counts
 * interleaved so that a slow spell of this shared machine hits them alike. A first, unmeasured pass
 * per pool starts its workers and grows their memories.
 */
async function timeLanes(jobs: LayerJob[], threads: number, laneCounts: number[], repeats: number): Promise<Run[]> {
  const pools = await Promise.all(laneCounts.map((lanes) => SolverPool.create({ threads, lanes })));
  for (const pool of pools) await pool.solveAll(jobs);
  const runs: Run[] = pools.map((pool) => ({ seconds: Infinity, lanes: 0, threadsPerLane: 0, predicted: 0, results: [] }));
  for (let r = 0; r < repeats; r++) {
    for (const [k, pool] of pools.entries()) {
      const started = performance.now();
      const results = await pool.solveAll(jobs);
      const seconds = (performance.now() - started) / 1000;
      const plan = pool.lastPlan!;
      if (seconds < runs[k]!.seconds) runs[k] = { seconds, lanes: plan.lanes, threadsPerLane: plan.threadsPerLane, predicted: plan.predictedSeconds, results };
    }
  }
  await Promise.all(pools.map((p) => p.close()));
  return runs;
}

const argv = process.argv.slice(2);
const threads = Number(option(argv, '--threads') ?? (await availableThreads()));
const repeats = Number(option(argv, '--repeats') ?? 2);
const machine = machineInfo();
console.log(`${machine.cpu}, ${machine.cores} cores, load ${machine.loadAverage}, Node ${machine.node}, ${threads} threads\n`);

const all = [...[await mlpSet()].filter((s): s is ProgramSet => s !== null), ...sets()];
const records = [];
const rows: string[][] = [];
const fitRows: string[][] = [];
for (const set of all) {
  const plan = planLanes(set.jobs.map((j) => shapeOf(j.input, true)), threads);
  const laneCounts = [...new Set([1, threads, plan.lanes])];
  const runs = await timeLanes(set.jobs, threads, laneCounts, repeats);
  const [sequential, sideBySide] = [runs[0]!, runs[laneCounts.indexOf(threads)]!];
  const planned = runs[laneCounts.indexOf(plan.lanes)]!;
  for (const r of runs) {
    r.results.forEach((res, k) => {
      if (res.nnz !== sequential.results[k]!.nnz || res.l1 !== sequential.results[k]!.l1) throw new Error(`${set.name}: program ${k} differs between lane counts`);
    });
  }
  const best = Math.min(...runs.map((r) => r.seconds));
  rows.push([
    set.name, String(set.jobs.length), fmt(sequential.seconds), fmt(sideBySide.seconds),
    `${plan.lanes} x ${plan.threadsPerLane}`, fmt(planned.seconds), fmt(sequential.seconds / planned.seconds), fmt(planned.seconds / best),
  ]);
  // the cost model's data: each distinct shape's time per iteration on all threads and on one
  const seen = new Set<string>();
  set.jobs.forEach((job, k) => {
    const shape = shapeOf(job.input, true);
    const key = `${shape.samples}x${shape.rows}x${shape.outputs}`;
    if (seen.has(key)) return;
    seen.add(key);
    const many = sequential.results[k]!, one = sideBySide.results[k]!;
    fitRows.push([
      `${set.name.split(':')[0]} ${key}`, String(many.iterations),
      fmt((1000 * one.seconds) / one.iterations, 3), fmt((1000 * predictSeconds(shape, 1)) / 120, 3),
      String(many.threads), fmt((1000 * many.seconds) / many.iterations, 3), fmt((1000 * predictSeconds(shape, many.threads)) / 120, 3),
    ]);
  });
  records.push({
    set: set.name, programs: set.jobs.length, threads,
    sequentialSeconds: sequential.seconds, sideBySideSeconds: sideBySide.seconds,
    planned: { lanes: plan.lanes, threadsPerLane: plan.threadsPerLane, seconds: planned.seconds, predictedSeconds: plan.predictedSeconds },
    plannedVsSequential: sequential.seconds / planned.seconds, plannedVsBest: planned.seconds / best,
  });
}
console.log(formatTable(
  ['programs', 'count', `1 lane x ${threads} s`, `${threads} lanes x 1 s`, 'plan', 'plan s', 'speed-up vs 1 lane', 'plan / best'],
  rows,
));
console.log('\ncost model (ms per iteration), measured vs predicted:');
console.log(formatTable(['program P x N x M', 'iters', '1 thread', 'model', `threads used of ${threads}`, 'ms', 'model'], fitRows));
console.log();
emitJson({ machine, threads, sets: records }, argv);

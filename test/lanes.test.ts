// Independent programs side by side: the plan (layer/lanes.ts) and the pool that follows it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { planLanes, predictSeconds, type ProgramShape } from '../src/layer/lanes.ts';
import { SolverPool, type LayerJob } from '../src/layer/pool.ts';
import { LayerSolver } from '../src/layer/solve.ts';
import { plantedRelu } from './helpers/random.ts';

const shape = (samples: number, rows: number, outputs: number): ProgramShape => ({ samples, rows, outputs });

test('plan: one layer that dominates gets every thread; many small programs run side by side', () => {
  const mlp = [shape(4000, 785, 300), shape(4000, 301, 100), shape(4000, 101, 10)];
  for (const threads of [2, 4, 8]) {
    const plan = planLanes(mlp, threads);
    assert.is(plan.lanes, 1, `${threads} threads: fc1 is 90% of the work, splitting it off cannot pay`);
    assert.is(plan.threadsPerLane, threads);
  }
  const depthwise = Array.from({ length: 32 }, () => shape(4096, 10, 1));
  for (const threads of [2, 4, 8]) {
    const plan = planLanes(depthwise, threads);
    assert.is(plan.lanes, threads, `${threads} threads: 32 tiny programs, one thread each`);
    assert.is(plan.threadsPerLane, 1);
  }
  assert.is(planLanes([shape(100, 9, 1)], 8).lanes, 1, 'one program: one lane');
  // without shared memory (maxPerLane 1) the threads can only become lanes: for the MLP two, fc1 on
  // one and the rest on the other (a third lane would not end sooner: fewer lanes win the tie)
  const alone = planLanes(mlp, 4, undefined, 1);
  assert.equal([alone.lanes, alone.threadsPerLane], [2, 1]);
  assert.is(planLanes(depthwise, 1).lanes, 1);
});

test('plan: largest programs first, the prediction is the makespan of that order, forced lane counts are honoured', () => {
  const shapes = [shape(1000, 50, 10), shape(4000, 300, 100), shape(2000, 100, 20)];
  const plan = planLanes(shapes, 2, 2);
  assert.equal(plan.order, [1, 2, 0]);
  assert.is(plan.lanes, 2);
  const [a, b, c] = [predictSeconds(shapes[1]!, 1), predictSeconds(shapes[2]!, 1), predictSeconds(shapes[0]!, 1)];
  // lane 1 takes the largest, lane 2 the next two (it frees up first)
  assert.ok(Math.abs(plan.predictedSeconds - Math.max(a, b + c)) < 1e-12);
  assert.ok(predictSeconds(shapes[1]!, 2) < predictSeconds(shapes[1]!, 1), 'a large program gains from a second thread');
  assert.ok(predictSeconds(shape(4096, 10, 1), 2) > predictSeconds(shape(4096, 10, 1), 1), 'a tiny one loses to fork-join');
  assert.throws(() => planLanes(shapes, 2, 3), /lanes must be an integer from 1 to threads \(2\), got 3/);
  assert.throws(() => planLanes(shapes, 0), /threads must be an integer >= 1, got 0/);
});

/** A planted ReLU layer (30%-dense teacher) as a job at epsilon 0.05. */
function planted(seed: number, p: number, n: number, m: number): LayerJob {
  return { input: plantedRelu(seed, p, n, m, 0.3), settings: { epsilon: 0.05 } };
}

test('pool: side by side or one after another, every program gets the weights a lone solver gives', async () => {
  const jobs = [planted(1, 600, 30, 8), planted(2, 500, 12, 3), planted(3, 800, 60, 16), planted(4, 400, 9, 1), planted(5, 700, 20, 4)];
  const lone = await LayerSolver.create({ threads: 1, worker: false });
  const want = jobs.map((j) => lone.solve(j.input, j.settings));
  await lone.close();
  for (const lanes of [1, 2]) {
    const pool = await SolverPool.create({ threads: 2, lanes });
    const heard: number[] = [];
    const got = await pool.solveAll(jobs, (index, result) => {
      heard.push(index);
      assert.is(result.nnz, want[index]!.nnz);
    });
    assert.is(pool.lastPlan!.lanes, lanes);
    assert.equal([...heard].sort(), [0, 1, 2, 3, 4], 'onSolved once per program');
    got.forEach((r, k) => {
      assert.is(r.status, 'solved', `lanes ${lanes}, program ${k}`);
      assert.equal(Array.from(r.weights), Array.from(want[k]!.weights), `lanes ${lanes}, program ${k}`);
    });
    await pool.close();
  }
});

test('pool: a bad program fails the run with its own error; the pool stays usable, and is refused once closed', async () => {
  const good = planted(7, 300, 10, 2);
  const bad = planted(8, 300, 10, 2);
  bad.input.inputs[17] = Number.NaN;
  const pool = await SolverPool.create({ threads: 2, lanes: 2 });
  try {
    await pool.solveAll([good, bad, good]);
    assert.unreachable('a NaN input was solved');
  } catch (err) {
    assert.match((err as Error).message, /NaN/);
  }
  const [again] = await pool.solveAll([good]);
  assert.is(again!.status, 'solved');
  assert.equal(await pool.solveAll([]), []);
  await pool.close();
  try {
    await pool.solveAll([good]);
    assert.unreachable('a closed pool solved');
  } catch (err) {
    assert.match((err as Error).message, /closed/);
  }
  try {
    await SolverPool.create({ threads: 2, lanes: 4 });
    assert.unreachable('4 lanes on 2 threads were accepted');
  } catch (err) {
    assert.match((err as Error).message, /lanes must be an integer from 1 to threads \(2\), got 4/);
  }
});

test('pool: an abort stops the running solves and rejects with the reason', async () => {
  const jobs = [planted(31, 2500, 200, 60), planted(32, 2500, 200, 60), planted(33, 2500, 200, 60)];
  const pool = await SolverPool.create({ threads: 2, lanes: 2 });
  const controller = new AbortController();
  const solved: number[] = [];
  setTimeout(() => controller.abort(new Error('enough')), 30);
  try {
    await pool.solveAll(jobs, (i) => solved.push(i), { signal: controller.signal });
    assert.unreachable('an aborted run resolved');
  } catch (err) {
    assert.is((err as Error).message, 'enough');
  }
  assert.ok(solved.length < jobs.length, 'the abort came after every program was solved: make them larger');
  await pool.close();
});

test.run();

// Runs the planted case in the runtimes named on the command line (default: all five) and prints a
// table and the JSON reports: `node --import tsx scripts/runtimes/run.ts [node|deno|bun|chromium|workerd...]`.
// test/runtimes.test.ts does the same and checks the results.
import { rm } from 'node:fs/promises';
import { RUNTIMES, runRuntime, type RuntimeName, type RuntimeRun } from './runners.ts';
import { stagePackage } from './stage.ts';

const wanted = (process.argv.slice(2).length ? process.argv.slice(2) : [...RUNTIMES]) as RuntimeName[];
for (const name of wanted) if (!RUNTIMES.includes(name)) throw new Error(`unknown runtime '${name}' (want ${RUNTIMES.join(', ')})`);
const staged = await stagePackage();
const runs: RuntimeRun[] = [];
let failed = false;
try {
  for (const name of wanted) {
    try {
      runs.push(await runRuntime(name, staged));
    } catch (err) {
      failed = true;
      console.error(`${name}: ${(err as Error).message}`);
    }
  }
} finally {
  await rm(staged.dir, { recursive: true, force: true });
}
console.table(runs.map((r) => ({
  runtime: r.runtime, version: r.version, flavour: r.report.flavour, status: r.report.status,
  iterations: r.report.iterations, nnz: r.report.nnz, l1: r.report.l1, recovered: r.report.problems.length === 0,
  seconds: Number(r.seconds.toFixed(2)),
})));
console.log(JSON.stringify(runs.map((r) => ({ runtime: r.runtime, version: r.version, report: r.report }))));
process.exitCode = failed ? 1 : 0;

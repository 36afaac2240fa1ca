// `npm run fuzz -- --cases N --seed S [--start I] [--timeout MS] [--keep]`: a long fuzz campaign
// (see test/fuzz/). Prints the count per outcome and every case that broke a promise, with the
// (seed, index) that reproduces it: `npm run fuzz -- --seed S --start I --cases 1 --keep`.
import { parseArgs } from 'node:util';
import { OUTCOMES, runCampaign } from '../test/fuzz/campaign.ts';

const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '1' },
    start: { type: 'string', default: '0' },
    timeout: { type: 'string', default: '30000' },
    keep: { type: 'boolean', default: false },
  },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
const start = Number(values.start);
let done = 0;
let lastPrint = performance.now();
const tally = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<(typeof OUTCOMES)[number], number>;
let violations = 0;
const counts = (): string => OUTCOMES.map((o) => `${o} ${tally[o]}`).join(', ');
// Stopped early (SIGINT, SIGTERM): the counts so far.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`fuzz: stopped by ${signal} after ${done} cases (seed ${seed}, from ${start}): ${counts()}; violations ${violations}`);
    process.exit(violations > 0 ? 1 : 130);
  });
}
const summary = await runCampaign({
  cases, seed, start, timeoutMs: Number(values.timeout), keep: values.keep,
  onCase: (r) => {
    done++;
    tally[r.outcome]++;
    if (r.violations.length > 0) violations++;
    if (r.violations.length > 0) {
      console.log(`VIOLATION case ${r.fuzzCase.index} (seed ${seed}, ${r.fuzzCase.kind}; ${r.fuzzCase.mutations.join('; ') || 'no mutation'}): ${r.violations.join('; ')}`);
      console.log(`  args: ${r.fuzzCase.args.join(' ')}`);
      console.log(`  stderr: ${r.stderr.slice(0, 600).replaceAll('\n', '\n          ')}`);
    }
    if (performance.now() - lastPrint > 60000) {
      lastPrint = performance.now();
      console.log(`... ${done} of ${cases} cases: ${counts()}; violations ${violations}`);
    }
  },
});
console.log(`fuzz: seed ${seed}, cases ${start}..${start + cases - 1}, ${summary.seconds.toFixed(0)} s`);
for (const outcome of OUTCOMES) console.log(`  ${outcome.padEnd(15)} ${summary.counts[outcome]}`);
console.log(`  (retried after a timeout, then ended: ${summary.retried})`);
console.log(`  violations      ${summary.violations.length}${values.keep && summary.violations.length > 0 ? ` (folders kept in ${summary.workDir})` : ''}`);
process.exitCode = summary.violations.length > 0 ? 1 : 0;

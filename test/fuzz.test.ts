// A few hundred seeded fuzz cases on every `npm test` (test/fuzz/): hostile .npy files, ONNX models
// and TF.js model.json + shards through `nettrim layer` and `nettrim prune`. Every case must end in
// a result or an input error (no internal error, escaped exception, crash or hang), write nothing
// on error, leave its inputs unchanged and speak in our words. Longer: `npm run fuzz -- --cases N`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OUTCOMES, runCampaign } from './fuzz/campaign.ts';

const CASES = 200;
const SEED = 13;

test(`${CASES} fuzz cases (seed ${SEED}): a result or an input error, nothing written on error, inputs unchanged`, async () => {
  const summary = await runCampaign({ cases: CASES, seed: SEED, timeoutMs: 20000 });
  const counts = OUTCOMES.map((o) => `${o} ${summary.counts[o]}`).join(', ');
  console.log(`  fuzz: ${counts} (${summary.seconds.toFixed(1)} s)`);
  const report = summary.violations.map((r) =>
    `case ${r.fuzzCase.index} (${r.fuzzCase.kind}: ${r.fuzzCase.mutations.join('; ')}): ${r.violations.join('; ')}\n  ${r.stderr.slice(0, 400)}`);
  assert.is(summary.violations.length, 0, report.join('\n'));
  // the generator reaches both ends: runs that succeed and inputs that are refused
  assert.ok(summary.counts.result > 0 && summary.counts['input-error'] > 0, counts);
});

test.run();

// The library in every runtime: the planted case (test/runtimes/planted-case.ts) solved through
// `import ... from 'nettrim'` in Node 20 (this one), 22, 24 and 26, Deno, Bun, headless Chromium and
// Firefox, and workerd, each a child process (scripts/runtimes/runners.ts). Each must recover the
// planted layer, and all must agree: the same nonzero pattern and l1 within 1e-5 relative. Each also
// runs its snippet of docs/runtimes.md, which must print what the docs say. A runtime that is not
// installed fails, naming the install step. The browsers are provisioned here when missing
// (scripts/runtimes/browsers.ts); only when none can be had are a browser's tests skipped, with a
// line that says why.
import { rm } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BrowserMissing, findBrowser } from '../scripts/runtimes/browsers.ts';
import { BROWSERS, RUNTIMES, runBrowserPlain, runRuntime, runSnippet, type RuntimeName, type RuntimeRun } from '../scripts/runtimes/runners.ts';
import { stagePackage, type Staged } from '../scripts/runtimes/stage.ts';

// Provisioned before the tests are declared, so that a browser that cannot be had is declared skipped.
const skipped = new Map<RuntimeName, string>();
for (const name of BROWSERS) {
  await findBrowser(name).then((b) => {
    console.log(`\n  ${name}: ${b.path} from ${b.source}${b.seconds ? `, ready in ${b.seconds.toFixed(1)} s` : ''}`);
  }, (err: Error) => {
    if (!(err instanceof BrowserMissing)) throw err;
    skipped.set(name, err.message);
    console.log(`\n  SKIPPED ${name}: its tests in test/runtimes.test.ts do not run: ${err.message}`);
  });
}
const RAN = RUNTIMES.filter((name) => !skipped.has(name));
/** uvu's test, or its skip for a runtime whose browser could not be had. */
const testIn = (name: RuntimeName) => (skipped.has(name) ? test.skip : test);

/** The issue's target for the same planted problem across runtimes. */
const L1_AGREEMENT = 1e-5;

const runs = new Map<RuntimeName, RuntimeRun | Error>();
const snippets = new Map<RuntimeName, string | Error>();
let staged: Staged | undefined;

test.before(async () => {
  staged = await stagePackage();
  // one after another: two cores, and Chromium alone wants one
  for (const name of RAN) {
    runs.set(name, await runRuntime(name, staged).catch((err: Error) => err));
    snippets.set(name, await runSnippet(name, staged).catch((err: Error) => err));
  }
  for (const name of BROWSERS) if (!skipped.has(name)) plain.set(name, await runBrowserPlain(name, staged).catch((err: Error) => err));
});

const plain = new Map<RuntimeName, Record<string, unknown> | Error>();

test.after(async () => {
  if (staged) await rm(staged.dir, { recursive: true, force: true });
});

function ran(name: RuntimeName): RuntimeRun {
  const r = runs.get(name);
  if (!r) throw new Error(`${name}: not run`);
  if (r instanceof Error) throw new Error(`${name}: ${r.message}`);
  return r;
}

const ENTRY: Record<RuntimeName, string> = {
  node: 'node', node22: 'node', node24: 'node', node26: 'node', deno: 'deno', bun: 'bun', chromium: 'browser', firefox: 'browser', workerd: 'workerd',
};

for (const name of RUNTIMES) {
  testIn(name)(`${name}: the planted layer comes back through the package's ${ENTRY[name]} entry`, () => {
    const r = ran(name);
    assert.equal(r.report.problems, [], `${name} (${r.version}, ${r.report.flavour} build): ${r.report.problems.join('; ')}`);
    assert.is(r.report.nnz, r.report.pattern.length);
  });
}

for (const name of RUNTIMES) {
  // workerd has no workers; the others start one per core (Chromium: the page is cross-origin isolated)
  const want = name === 'workerd' ? 1 : availableParallelism();
  testIn(name)(`${name}: a default solver gets ${want === 1 ? 'one thread' : `${want} threads`}, and solve() on the caller's thread agrees`, () => {
    const r = ran(name);
    assert.is(r.report.threads, want, `${name}: ${r.report.threads} threads`);
  });
}

for (const name of RUNTIMES) {
  testIn(name)(`${name}: the docs/runtimes.md snippet prints what the docs say`, () => {
    const snippet = staged!.snippets.get(name);
    assert.ok(snippet, `docs/runtimes.md has no snippet marked <!-- tested: ... ${name} -->`);
    const out = snippets.get(name);
    if (out instanceof Error) throw new Error(`${name}: ${out.message}`);
    assert.is(out, snippet.prints, `${name}: the snippet printed ${JSON.stringify(out)}`);
  });
}

for (const name of BROWSERS) {
  testIn(name)(`${name}, page not cross-origin isolated: one thread, solves in Web Workers (one per pool lane), the page stays live, same answers`, () => {
    const got = plain.get(name);
    if (!got) throw new Error(`${name}: not run`);
    if (got instanceof Error) throw got;
    const r = got as {
      report: { problems: string[]; pattern: number[] }; isolated: boolean; threads: number; inWorker: boolean;
      ticks: number; status: string; seconds: number; cancelled: string; sameAfterCancel: boolean;
      cores: number; poolLanes: number; poolThreadsPerLane: number; poolSame: boolean;
    };
    assert.is(r.isolated, false);
    assert.equal(r.report.problems, [], r.report.problems.join('; '));
    assert.is(r.threads, 1);
    assert.ok(r.inWorker, 'solveAsync must run in a worker where the page has Web Workers');
    assert.is(r.status, 'solved');
    assert.ok(r.ticks > 0, `the page's timers did not fire during a ${r.seconds.toFixed(2)} s solve: it ran on the page's thread`);
    assert.is(r.cancelled, 'TimeoutError');
    assert.ok(r.sameAfterCancel, 'the solve after a cancelled one differs from the first');
    // four equal programs on a pool: one-thread lanes, one per core (at most four), each as the lone solve
    assert.is(r.poolThreadsPerLane, 1);
    assert.is(r.poolLanes, Math.min(4, r.cores));
    assert.ok(r.poolSame, 'a pooled solve differs from the lone one');
    const node = ran('node');
    assert.equal(r.report.pattern, node.report.pattern);
  });
}

test('every runtime builds the same problem and sees the same API', () => {
  const done = RAN.filter((n) => !(runs.get(n) instanceof Error));
  assert.ok(done.length > 0, 'no runtime ran');
  const ref = ran(done[0]);
  for (const name of done.slice(1)) {
    const r = ran(name);
    assert.is(r.report.inputHash, ref.report.inputHash,
      `${name} built a different planted problem than ${ref.runtime} (input hash ${r.report.inputHash} vs ${ref.report.inputHash})`);
    assert.equal(r.exports, ref.exports, `${name} exports differ from ${ref.runtime}'s`);
  }
});

test(`all runtimes agree: same nonzero pattern, l1 within ${L1_AGREEMENT} relative`, () => {
  const done = RAN.filter((n) => !(runs.get(n) instanceof Error));
  const missing = RAN.filter((n) => runs.get(n) instanceof Error);
  const ref = ran(done[0]);
  const rows = done.map((name) => {
    const r = ran(name);
    return {
      runtime: name, version: r.version, flavour: r.report.flavour, iterations: r.report.iterations,
      nnz: r.report.nnz, l1: r.report.l1,
      l1RelDiff: Math.abs(r.report.l1 - ref.report.l1) / ref.report.l1,
      maxWeightRelDiff: maxRelDiff(r, ref), seconds: r.seconds,
    };
  });
  console.log(`\n  planted case in each runtime (differences relative to ${ref.runtime}):`);
  console.table(rows.map((row) => ({
    ...row, l1RelDiff: row.l1RelDiff.toExponential(1), maxWeightRelDiff: row.maxWeightRelDiff.toExponential(1),
    seconds: row.seconds.toFixed(2),
  })));
  const problems: string[] = [];
  for (const row of rows.slice(1)) {
    const r = ran(row.runtime);
    const pattern = r.report.pattern, want = new Set(ref.report.pattern), got = new Set(pattern);
    const extra = pattern.filter((i) => !want.has(i)), lacking = ref.report.pattern.filter((i) => !got.has(i));
    if (extra.length || lacking.length) {
      problems.push(`${row.runtime}: nonzero pattern differs from ${ref.runtime}'s` +
        (extra.length ? `; extra entries ${extra.join(', ')}` : '') + (lacking.length ? `; missing ${lacking.join(', ')}` : ''));
    }
    if (!(row.l1RelDiff <= L1_AGREEMENT)) {
      problems.push(`${row.runtime}: l1 ${r.report.l1} differs from ${ref.runtime}'s ${ref.report.l1} by ` +
        `${row.l1RelDiff.toExponential(2)} relative (limit ${L1_AGREEMENT})`);
    }
  }
  if (missing.length) problems.push(`not compared, they did not run: ${missing.join(', ')}`);
  if (skipped.size) console.log(`  not compared, skipped (no browser could be had): ${[...skipped.keys()].join(', ')}`);
  assert.ok(problems.length === 0, problems.join('\n'));
});

/** Largest |w_a - w_b| / |w_b| over the reference's nonzero pattern (Infinity when patterns differ). */
function maxRelDiff(a: RuntimeRun, b: RuntimeRun): number {
  const at = new Map(a.report.pattern.map((i, k) => [i, a.report.values[k]]));
  let max = 0;
  b.report.pattern.forEach((i, k) => {
    const v = at.get(i);
    max = Math.max(max, v === undefined ? Infinity : Math.abs(v - b.report.values[k]) / Math.abs(b.report.values[k]));
  });
  return max;
}

test.run();

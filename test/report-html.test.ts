// The HTML report (--report x.html) in headless Chromium: `nettrim prune` writes the page and the
// JSON report of the same run; the page must render with no console error and no request of any
// kind (self-contained), stay under 1 MB, and show the JSON's numbers (read back from the DOM:
// each shown number carries data-field/data-value, and its text must round to the value). Two real
// runs: the MNIST MLP (ONNX) with a sparsity target and held-out data (the accuracy curve, the
// 28 x 28 pixel heat map), and the MNIST CNN as a TensorFlow.js model without evaluation (conv masks,
// kernel taps). Without Chromium the browser checks say SKIPPED on their own line (and fail in CI).
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chromiumMissing, launchChromium } from '../scripts/report/chromium.ts';
import { encodeNpy } from '../src/io/npy.ts';
import { readTensor } from '../src/prune/files.ts';
import type { PruneReport } from '../src/prune/types.ts';
import type { HtmlReportData } from '../src/report/html.ts';
import { renderHtmlReport } from '../src/report/html.ts';
import { prune } from './helpers/cli.ts';

const EXAMPLES = new URL('../examples/', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'nettrim-report-html-'));
const path = (name: string): string => join(dir, name);
const MAX_BYTES = 1 << 20;
// few digits keep the two runs short; the page does not care how good the pruning is
const CALIB_DIGITS = 300;
const EVAL_DIGITS = 300;

const missing = await chromiumMissing();
let browser: Browser | null = null;

/**
 * A test that needs Chromium. Without it: a SKIPPED line with the reason on stdout (never a silent
 * pass), and in CI (which installs Chromium) a failing test.
 */
function browserTest(name: string, fn: () => Promise<void>): void {
  if (!missing) test(name, fn);
  else if (process.env.CI) test(name, () => assert.unreachable(`Chromium is required in CI: ${missing}`));
  else process.stdout.write(`SKIPPED ${name}: ${missing}\n`);
}

test.before(async () => {
  const calib = await readTensor(fileURLToPath(new URL('data/mnist-calib-x.npy', EXAMPLES)));
  const x = await readTensor(fileURLToPath(new URL('data/mnist-test-x.npy', EXAMPLES)));
  const labels = await readTensor(fileURLToPath(new URL('data/mnist-test-labels.npy', EXAMPLES)));
  writeFileSync(path('calib.npy'), encodeNpy(calib.data.subarray(0, CALIB_DIGITS * 784), [CALIB_DIGITS, 784]));
  writeFileSync(path('calib-images.npy'), encodeNpy(calib.data.subarray(0, CALIB_DIGITS * 784), [CALIB_DIGITS, 28, 28, 1]));
  writeFileSync(path('eval.npy'), encodeNpy(x.data.subarray(0, EVAL_DIGITS * 784), [EVAL_DIGITS, 784]));
  writeFileSync(path('labels.npy'), encodeNpy(labels.data.subarray(0, EVAL_DIGITS), [EVAL_DIGITS]));
  const mlp = await prune([fileURLToPath(new URL('models/mnist-mlp.onnx', EXAMPLES)), '--calib', path('calib.npy'), '--sparsity', '0.8',
    '--eval', path('eval.npy'), '--labels', path('labels.npy'), '--out', path('mlp.onnx'),
    '--report', path('mlp.html'), '--report', path('mlp.json'), '--no-progress']);
  if (mlp.code !== 0) throw new Error(`prune of the MLP failed: ${mlp.stderr}`);
  const cnn = await prune([fileURLToPath(new URL('models/mnist-conv-tfjs', EXAMPLES)), '--calib', path('calib-images.npy'), '--epsilon', '0.1',
    '--out', path('cnn-tfjs'), '--report', path('cnn.json'), '--report', path('cnn.HTML'), '--no-progress']);
  if (cnn.code !== 0) throw new Error(`prune of the TF.js CNN failed: ${cnn.stderr}`);
  if (!missing) browser = await launchChromium();
});

test.after(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

function readJson(name: string): PruneReport & { output: string } {
  return JSON.parse(readFileSync(path(name), 'utf8')) as PruneReport & { output: string };
}

test('both reports are written; each page is under 1 MB and embeds exactly the JSON report', () => {
  for (const [html, json] of [['mlp.html', 'mlp.json'], ['cnn.HTML', 'cnn.json']] as const) {
    const size = statSync(path(html)).size;
    assert.ok(size < MAX_BYTES, `${html}: ${size} bytes`);
    const page = readFileSync(path(html), 'utf8');
    const block = /<script type="application\/json" id="nettrim-data">(.*?)<\/script>/s.exec(page);
    assert.ok(block, `${html}: no data block`);
    const data = JSON.parse(block![1]!) as HtmlReportData;
    assert.equal(data.report, readJson(json));
    assert.equal(data.figures!.layers.map((f) => f.name), data.report.layers.map((l) => l.name));
    for (const [k, f] of data.figures!.layers.entries()) assert.is(f.mask.kept, data.report.layers[k]!.nnzAfter, `${html}: ${f.name} mask`);
  }
});

test('bad --report: the same path twice, or the model output: message, exit code 1, nothing written', async () => {
  const model = fileURLToPath(new URL('models/mnist-mlp.onnx', EXAMPLES));
  for (const [reports, message] of [
    [['twice.html', 'twice.html'], /--report paths must differ|must differ/],
    [['same.onnx'], /must differ/],
  ] as const) {
    const r = await prune([model, '--calib', path('calib.npy'), '--out', path('same.onnx'), ...reports.flatMap((p) => ['--report', path(p)]), '--no-progress']);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, message);
    for (const p of [...reports, 'same.onnx']) assert.not.ok(existsSync(path(p)), p);
  }
});

test('the sparsity run with held-out data records an evaluated try per search try', () => {
  const r = readJson('mlp.json');
  assert.ok(r.search && r.eval?.tries, 'search and eval.tries');
  assert.is(r.eval!.tries!.length, r.search!.tries.length);
  for (const [k, t] of r.eval!.tries!.entries()) {
    assert.is(t.epsilon, r.search!.tries[k]!.epsilon);
    assert.ok(Math.abs(t.keptFraction - (1 - r.search!.tries[k]!.removedFraction)) < 1e-12);
    for (const a of [t.accuracy, t.accuracyMagnitude, t.accuracyWanda, t.accuracySparseGpt]) assert.ok(a >= 0 && a <= 1);
  }
  assert.is(readJson('cnn.json').eval, null);
});

browserTest('Chromium: the MLP page renders with no console error or request and shows the JSON report\'s numbers', async () => {
  const page = await open('mlp.html');
  const r = readJson('mlp.json');
  try {
    await checkNumbers(page.page, r);
    // the first layer reads 784 flat pixels: its heat map is 28 x 28
    assert.equal(await page.page.$eval('canvas[data-input-map]', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]), [28, 28]);
    // the accuracy chart: every try for each of the four methods, and the written network ringed
    const points = await page.page.$$eval('#accuracy-chart circle', (cs) => cs.map((c) => ({
      final: c.getAttribute('data-final') === 'true', kept: Number(c.getAttribute('data-kept')), accuracy: Number(c.getAttribute('data-accuracy')),
    })));
    assert.is(points.filter((p) => !p.final).length, 4 * r.eval!.tries!.length);
    const finals = points.filter((p) => p.final);
    assert.equal(finals.map((p) => p.accuracy), [r.eval!.accuracyAfter, r.eval!.accuracyMagnitude, r.eval!.accuracyWanda, r.eval!.accuracySparseGpt]);
    for (const p of finals) assert.is(p.kept, r.total.keptFraction);
    const tried = new Set(r.eval!.tries!.flatMap((t) => [t.accuracy, t.accuracyMagnitude, t.accuracyWanda, t.accuracySparseGpt]));
    for (const p of points.filter((q) => !q.final)) assert.ok(tried.has(p.accuracy), `a point at ${p.accuracy} that no try has`);
    assert.is(await page.page.$$eval('#search tbody tr', (rows) => rows.length), r.search!.tries.length);
    page.assertClean();
  } finally {
    await page.page.close();
  }
});

browserTest('Chromium: the TF.js CNN page (.HTML) shows conv masks and kernel taps, no accuracy section', async () => {
  const page = await open('cnn.HTML');
  const r = readJson('cnn.json');
  try {
    await checkNumbers(page.page, r);
    const taps = await page.page.$eval('canvas[data-input-map]', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height]);
    assert.equal(taps, [5, 5]);
    assert.is(await page.page.$$eval('#accuracy-chart, #accuracy', (e) => e.length), 0);
    page.assertClean();
  } finally {
    await page.page.close();
  }
});

browserTest('Chromium: a report read back from JSON (no figures) renders, and a hostile model name stays text', async () => {
  const r = { ...readJson('cnn.json'), model: 'evil</script><script>window.pwned = 1</script>.onnx' };
  const file = path('hostile.html');
  writeFileSync(file, renderHtmlReport(r, null));
  const page = await open('hostile.html');
  try {
    assert.is(await page.page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined);
    assert.ok((await page.page.textContent('.sub'))!.includes(r.model));
    assert.is(await page.page.$$eval('canvas[data-mask]', (e) => e.length), 0);
    await checkNumbers(page.page, r);
    page.assertClean();
  } finally {
    await page.page.close();
  }
});

interface OpenPage {
  page: Page;
  assertClean(): void;
}

/** Opens a written page from disk, recording console errors, page errors and every request. */
async function open(name: string): Promise<OpenPage> {
  const page = await browser!.newPage();
  const problems: string[] = [];
  const url = pathToFileURL(path(name)).href;
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (req) => { if (req.url() !== url) problems.push(`request: ${req.url()}`); });
  await page.goto(url);
  await page.waitForSelector('html[data-rendered="true"]', { timeout: 20_000 });
  return { page, assertClean: () => assert.equal(problems, [], problems.join('\n')) };
}

/**
 * Every element with data-field shows the report's value: data-value equals it exactly, and the
 * text a person reads rounds to it (percent, fixed decimals, integers with separators, statuses).
 */
async function checkNumbers(page: Page, r: PruneReport): Promise<void> {
  const shown = await page.$$eval('[data-field]', (els) => els.map((e) => ({
    field: e.getAttribute('data-field')!, value: e.getAttribute('data-value')!, text: e.textContent!.trim(),
    layer: e.closest('[data-layer]')?.getAttribute('data-layer') ?? null, tryIndex: e.closest('[data-try]')?.getAttribute('data-try') ?? null,
    mask: e.closest('.mask')?.querySelector('h3')?.textContent ?? null,
  })));
  assert.ok(shown.length > 20, `only ${shown.length} numbers on the page`);
  const layerRows = new Set<string>();
  for (const s of shown) {
    let expected: unknown;
    if (s.field === 'mask.kept') expected = r.layers.find((l) => l.name === s.mask)!.nnzAfter;
    else if (s.field === 'layers.keptFraction') expected = r.layers.find((l) => l.name === s.layer)!.keptFraction;
    else if (s.field.startsWith('search.tries.')) expected = at(r.search!.tries[Number(s.tryIndex)]!, s.field.slice('search.tries.'.length));
    else if (s.layer !== null) {
      expected = at(r.layers.find((l) => l.name === s.layer)!, s.field);
      layerRows.add(s.layer);
    } else expected = at(r, s.field);
    const where = `${s.layer ?? ''} ${s.field}`;
    assert.ok(expected !== undefined, `${where}: not in the report`);
    if (typeof expected === 'string') {
      assert.is(s.value, expected, where);
      assert.is(s.text, expected, where);
      continue;
    }
    assert.is(Number(s.value), expected, `${where}: data-value`);
    assert.ok(rounds(s.text, expected as number), `${where}: shows "${s.text}" for ${String(expected)}`);
  }
  assert.equal([...layerRows].sort(), r.layers.map((l) => l.name).sort(), 'a table row per layer');
  assert.is(await page.$$eval('#skipped tbody tr', (rows) => rows.length), r.skipped.length);
}

function at(obj: unknown, field: string): unknown {
  return field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | null)?.[k], obj);
}

/** "12.3%", "0.050", "1,234", "0.906", "5.1 s": the text is the value at the precision shown. */
function rounds(text: string, value: number): boolean {
  const m = /^(-?[\d,]*\.?\d+)(%| s)?$/.exec(text);
  if (!m) return false;
  const shown = Number(m[1]!.replace(/,/g, ''));
  const decimals = m[1]!.includes('.') ? m[1]!.split('.')[1]!.length : 0;
  const scale = m[2] === '%' ? 100 : 1;
  return Math.abs(shown - scale * value) <= 0.5 * 10 ** -decimals * (1 + 1e-9);
}

test.run();

// A full-page PNG of an HTML report in headless Chromium (for docs/report.png):
//   node --import tsx scripts/report/screenshot.ts examples/pruned/mnist-mlp.sparsity85.report.html docs/report.png
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from './chromium.ts';

const [page, out] = process.argv.slice(2);
if (!page || !out) {
  process.stderr.write('usage: screenshot.ts REPORT.html OUT.png\n');
  process.exit(2);
}
const browser = await launchChromium();
try {
  const tab = await browser.newPage({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: 1 });
  tab.on('console', (m) => { if (m.type() === 'error') process.stderr.write(`console error: ${m.text()}\n`); });
  tab.on('pageerror', (e) => process.stderr.write(`page error: ${e.message}\n`));
  await tab.goto(pathToFileURL(resolve(page)).href);
  await tab.waitForSelector('html[data-rendered="true"]');
  await tab.screenshot({ path: out, fullPage: true });
  process.stdout.write(`wrote ${out}\n`);
} finally {
  await browser.close();
}

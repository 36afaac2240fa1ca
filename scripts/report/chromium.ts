// Headless Chromium for looking at the HTML report, driven through playwright-core (no browser
// download of its own: we hand it the executable). The binary comes from the runtimes test's
// finder (scripts/runtimes/browsers.ts): the npm package @sparticuz/chromium, else Debian's, so
// the README's `npm test` runs these tests on a machine with nothing but Node and npm. Used by
// test/report-html.test.ts and scripts/report/screenshot.ts; the one place that starts it here.
import { chromium, type Browser } from 'playwright-core';
import { BrowserMissing, findBrowser } from '../runtimes/browsers.ts';

/** Why Chromium cannot run here (what was tried), or null when it can. */
export async function chromiumMissing(): Promise<string | null> {
  try {
    await findBrowser('chromium');
    return null;
  } catch (err) {
    if (err instanceof BrowserMissing) return err.message;
    throw err;
  }
}

/** Starts headless Chromium; close the browser when done. */
export async function launchChromium(): Promise<Browser> {
  const found = await findBrowser('chromium');
  // as root on a machine without a network: no sandbox, no GPU, nothing that phones home
  return chromium.launch({
    executablePath: found.path,
    env: { ...process.env, ...found.env } as Record<string, string>,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update'],
    timeout: 60_000,
  });
}

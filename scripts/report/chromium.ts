// Headless Chromium for looking at the HTML report: Debian's /usr/bin/chromium (or CHROMIUM_PATH),
// driven through playwright-core (no browser download of its own: we hand it the executable). Used by
// test/report-html.test.ts and scripts/report/screenshot.ts; the one place that starts the browser.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why Chromium cannot run here (with the install step), or null when it can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM_PATH) ? null
    : `Chromium is not installed (${CHROMIUM_PATH} is missing): \`apt-get update && apt-get install -y chromium\`, or set CHROMIUM_PATH`;
}

/** Starts headless Chromium; close the browser when done. */
export async function launchChromium(): Promise<Browser> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  // as root on a machine without a network: no sandbox, no GPU, nothing that phones home
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update'],
    timeout: 60_000,
  });
}

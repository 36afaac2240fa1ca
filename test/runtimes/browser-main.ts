// Driver for the browser: bundled by esbuild (the `browser` condition), run in headless Chromium;
// posts its JSON to the page's server, which test/runtimes.test.ts started.
import * as nettrim from 'nettrim';
import { runPlantedCase } from './planted-case.ts';

async function post(body: unknown) {
  await fetch('/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

addEventListener('error', (e) => void post({ error: `${e.message} at ${e.filename}:${e.lineno}` }));
addEventListener('unhandledrejection', (e) => void post({ error: String((e.reason as Error)?.stack ?? e.reason) }));

const report = await runPlantedCase(nettrim);
await post({ exports: Object.keys(nettrim).sort(), report, userAgent: navigator.userAgent });

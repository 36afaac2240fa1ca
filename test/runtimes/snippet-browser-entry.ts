// Wraps the browser snippet of docs/runtimes.md for a headless browser (staged once per browser, each
// copy importing snippet-<browser>.mjs): once it has run, posts the page's text (or its error) to the
// server of test/runtimes.test.ts.
async function post(body: unknown) {
  await fetch('/result', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

try {
  await import('./snippet-browser.mjs');
  await post({ text: document.body.textContent });
} catch (err) {
  await post({ error: String((err as Error)?.stack ?? err) });
}

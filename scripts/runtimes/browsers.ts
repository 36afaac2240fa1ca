// Where the runtimes test's browsers come from, so that the README's `npm ci && npm test` runs them on
// a machine that has nothing but Node and npm:
//
// - Chromium: the headless build inside the devDependency @sparticuz/chromium (unpacked into the
//   temp folder on first use, with the NSS libraries it ships, so it needs no system library beyond
//   glibc); else Debian's `chromium`, installed here with apt-get when missing and we may (root, as
//   `playwright install --with-deps` does).
// - Firefox: no registry package carries a Firefox, so Debian's `firefox-esr`, provisioned the same way.
//
// CHROMIUM_PATH / FIREFOX_PATH name a binary to use instead; NETTRIM_NO_APT=1 forbids the apt-get
// step. Only when no browser can be had does the test skip its runs, saying why (`BrowserMissing`).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './stage.ts';

export type BrowserName = 'chromium' | 'firefox';

/** A browser binary the test can start. */
export interface Browser {
  name: BrowserName;
  path: string;
  /** Where it came from, for the test's table: the npm package or the Debian package and how. */
  source: string;
  /** Environment the binary needs (the package Chromium's own libraries). */
  env: Record<string, string>;
  /** Seconds spent getting it (unpacking or apt-get), 0 when it was there. */
  seconds: number;
}

/** No browser of this kind could be had; the message says what was tried. */
export class BrowserMissing extends Error {}

const run = promisify(execFile);
const found = new Map<BrowserName, Promise<Browser>>();

/** The browser `name`, provisioned once per process; rejects with BrowserMissing when none can be had. */
export function findBrowser(name: BrowserName): Promise<Browser> {
  let browser = found.get(name);
  if (!browser) found.set(name, browser = name === 'chromium' ? findChromium() : findFirefox());
  return browser;
}

async function findChromium(): Promise<Browser> {
  const override = fromEnv('chromium', 'CHROMIUM_PATH');
  if (override) return override;
  const tried: string[] = [];
  const started = performance.now();
  try {
    return { ...await packageChromium(), seconds: (performance.now() - started) / 1000 };
  } catch (err) {
    tried.push(`the npm package @sparticuz/chromium: ${(err as Error).message.split('\n')[0]}`);
  }
  return debianBrowser('chromium', ['/usr/bin/chromium'], 'chromium', tried);
}

async function findFirefox(): Promise<Browser> {
  return fromEnv('firefox', 'FIREFOX_PATH') ??
    debianBrowser('firefox', ['/usr/bin/firefox-esr', '/usr/bin/firefox'], 'firefox-esr',
      ['an npm package: none carries a Firefox binary']);
}

function fromEnv(name: BrowserName, variable: string): Browser | undefined {
  const path = process.env[variable];
  if (!path) return undefined;
  if (!existsSync(path)) throw new BrowserMissing(`${name}: ${variable}=${path} does not exist`);
  return { name, path, source: variable, env: {}, seconds: 0 };
}

/**
 * @sparticuz/chromium (x86-64 Linux only): `executablePath()` unpacks the browser to the temp folder
 * (once; later calls reuse it); its NSS and expat, built for Amazon Linux, are unpacked next to it
 * and put first on the library path so that the binary finds them on any glibc Linux.
 */
async function packageChromium(): Promise<Omit<Browser, 'seconds'>> {
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error(`no build for ${process.platform}-${process.arch}`);
  const { default: chromium, inflate } = await import('@sparticuz/chromium');
  const path = await chromium.executablePath();
  const pkg = join(ROOT, 'node_modules', '@sparticuz', 'chromium');
  const libs = join(await inflate(join(pkg, 'bin', 'al2023.tar.br')), 'lib');
  const env = { LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') };
  // it must start: a binary that cannot load is no browser
  await run(path, ['--version'], { env: { ...process.env, ...env }, timeout: 30_000 });
  const { version } = JSON.parse(await readFile(join(pkg, 'package.json'), 'utf8')) as { version: string };
  return { name: 'chromium', path, source: `npm @sparticuz/chromium ${version}`, env };
}

/** A Debian package's binary: there already, or installed now with apt-get where we are root. */
async function debianBrowser(name: BrowserName, paths: string[], pkg: string, tried: string[]): Promise<Browser> {
  const there = () => paths.find((p) => existsSync(p));
  if (there()) return { name, path: there()!, source: `Debian ${pkg}`, env: {}, seconds: 0 };
  const apt = ['/usr/bin/apt-get'].find((p) => existsSync(p));
  const why = !apt ? 'no apt-get here' : process.getuid?.() !== 0 ? 'not root, so no apt-get install'
    : process.env.NETTRIM_NO_APT ? 'NETTRIM_NO_APT is set' : '';
  if (why) {
    tried.push(`Debian's ${pkg}: ${paths.join(' or ')} missing, ${why}`);
    throw new BrowserMissing(`${name}: not found; tried ${tried.join('; ')}`);
  }
  const started = performance.now();
  console.log(`  ${name}: installing Debian's ${pkg} with apt-get (once; set NETTRIM_NO_APT=1 to skip instead)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // another apt-get may hold the lock (a parallel install): wait for it rather than fail
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  try {
    await run('apt-get', ['update', '-qq', ...lock], { env, timeout: 600_000 });
    await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...lock, pkg], { env, timeout: 900_000, maxBuffer: 64 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    tried.push(`apt-get install ${pkg} failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' ')}`);
    throw new BrowserMissing(`${name}: not found; tried ${tried.join('; ')}`);
  }
  if (!there()) throw new BrowserMissing(`${name}: apt-get installed ${pkg} but ${paths.join(' or ')} is still missing`);
  return { name, path: there()!, source: `Debian ${pkg}, installed by apt-get`, env: {}, seconds: (performance.now() - started) / 1000 };
}

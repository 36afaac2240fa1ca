// Stages the package as a user installs it: a scratch project whose node_modules/nettrim holds
// package.json, a fresh tsc build of src/ in dist/ and the wasm builds, next to the runtime drivers of
// test/runtimes/ and the tested snippets of docs/runtimes.md. Imports of 'nettrim' there go through
// the package's export conditions.
import { execFile } from 'node:child_process';
import { access, copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DRIVERS = ['planted-case.ts', 'main.ts', 'browser-main.ts', 'browser-plain.ts', 'worker-main.ts'];
/** Each browser gets a copy of test/runtimes/snippet-browser-entry.ts that imports its own snippet. */
const BROWSER_SNIPPETS = ['chromium', 'firefox'];
const DOCS = join(ROOT, 'docs', 'runtimes.md');

export interface Staged {
  /** The scratch project, with the drivers. */
  dir: string;
  /** Its node_modules/nettrim. */
  packageDir: string;
  /** The docs' snippet for each runtime (staged as snippet-<runtime>.mjs) and what it must print. */
  snippets: Map<string, Snippet>;
}

export interface Snippet { code: string; prints: string }

/** Builds the scratch project in a new temporary folder (the caller removes it). */
export async function stagePackage(): Promise<Staged> {
  const wasm = (await readdir(join(ROOT, 'build')).catch(() => [])).filter((f) => /^nettrim\.[\w-]+\.wasm$/.test(f));
  for (const f of ['relaxed', 'simd', 'scalar', 'relaxed-threads', 'simd-threads']) {
    if (!wasm.includes(`nettrim.${f}.wasm`)) throw new Error(`build/nettrim.${f}.wasm is missing: run \`npm run build:wasm\``);
  }
  const dir = await mkdtemp(join(tmpdir(), 'nettrim-runtimes-'));
  const packageDir = join(dir, 'node_modules', 'nettrim');
  await mkdir(join(packageDir, 'build'), { recursive: true });
  await compileTypeScript(join(packageDir, 'dist'));
  await copyFile(join(ROOT, 'package.json'), join(packageDir, 'package.json'));
  for (const f of wasm) await copyFile(join(ROOT, 'build', f), join(packageDir, 'build', f));
  for (const f of DRIVERS) await copyFile(join(ROOT, 'test', 'runtimes', f), join(dir, f));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'nettrim-runtime-check', private: true, type: 'module' }, null, 2));
  // Deno: use the node_modules folder as it is, never install into it
  await writeFile(join(dir, 'deno.json'), JSON.stringify({ nodeModulesDir: 'manual' }, null, 2));
  const snippets = docSnippets(await readFile(DOCS, 'utf8'));
  for (const [runtime, snippet] of snippets) await writeFile(join(dir, `snippet-${runtime}.mjs`), snippet.code);
  const entry = await readFile(join(ROOT, 'test', 'runtimes', 'snippet-browser-entry.ts'), 'utf8');
  for (const browser of BROWSER_SNIPPETS) {
    await writeFile(join(dir, `snippet-browser-entry-${browser}.ts`), entry.replace('./snippet-browser.mjs', `./snippet-${browser}.mjs`));
  }
  return { dir, packageDir, snippets };
}

/**
 * The code blocks of docs/runtimes.md marked `<!-- tested: runtime... -->`, by runtime; each ends
 * with a comment `// → what it prints`.
 */
export function docSnippets(markdown: string): Map<string, Snippet> {
  const snippets = new Map<string, Snippet>();
  for (const m of markdown.matchAll(/<!-- tested: ([\w ]+) -->\n```\w*\n([\s\S]*?)\n```/g)) {
    const code = m[2] + '\n';
    const prints = /\/\/ → (.+)$/m.exec(code)?.[1].trim();
    if (!prints) throw new Error(`docs/runtimes.md: the snippet for ${m[1]} has no '// → output' line`);
    for (const runtime of m[1].trim().split(/\s+/)) snippets.set(runtime, { code, prints });
  }
  return snippets;
}

/** tsc into `outDir`; type errors are left to `npm run typecheck`, a missing entry is not. */
async function compileTypeScript(outDir: string): Promise<void> {
  const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
  const run = promisify(execFile);
  let log = '';
  try {
    await run(tsc, ['-p', join(ROOT, 'tsconfig.json'), '--outDir', outDir], { cwd: ROOT });
  } catch (err) {
    log = String((err as { stdout?: string }).stdout ?? err);
  }
  for (const entry of ['index.js', 'runtime/node.js', 'runtime/browser.js', 'runtime/workerd.js']) {
    const ok = await access(join(outDir, entry)).then(() => true, () => false);
    if (!ok) throw new Error(`tsc produced no dist/${entry}:\n${log}`);
  }
}

// What a browser or edge bundle ships for the solver: an app whose only use of the library is
// `import { trimLayer } from 'nettrim'`, bundled and minified by esbuild through the package's export
// conditions (browser; workerd), measured raw and gzipped (node:zlib, level 9). The aim: under
// 100 KB gzipped. Run: `npm run bench:size` (add --json for the JSON alone).
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { stagePackage } from '../scripts/runtimes/stage.ts';

const AIM_GZIP_BYTES = 100 * 1024;

interface Part { target: 'browser' | 'workerd'; part: string; raw: number; gzip: number }

const staged = await stagePackage();
const parts: Part[] = [];
try {
  const app = join(staged.dir, 'app.ts');
  await writeFile(app, "import { trimLayer } from 'nettrim';\n(globalThis as any).trimLayer = trimLayer;\n");
  const common = { entryPoints: [app], bundle: true, minify: true, format: 'esm', target: 'es2022', platform: 'browser', external: ['node:*'], logLevel: 'error' } as const;

  // Browser: esbuild leaves new URL('…wasm', import.meta.url) alone, so the builds are the package's
  // files as they are, which bundlers that follow that pattern (Vite, webpack, Parcel) copy unchanged.
  const browserOut = join(staged.dir, 'size-browser');
  await build({ ...common, outdir: browserOut });
  parts.push(await measure('browser', 'JS glue (minified)', join(browserOut, 'app.js')));
  for (const f of ['relaxed', 'simd', 'scalar']) {
    parts.push(await measure('browser', `wasm ${f}`, join(staged.packageDir, 'build', `nettrim.${f}.wasm`)));
  }

  // workerd: the SIMD build as a module import, copied next to the bundle as wrangler does.
  const workerOut = join(staged.dir, 'size-workerd');
  await build({ ...common, outdir: workerOut, conditions: ['workerd', 'worker'], loader: { '.wasm': 'copy' }, assetNames: '[name]' });
  parts.push(await measure('workerd', 'JS glue (minified)', join(workerOut, 'app.js')));
  for (const f of (await readdir(workerOut)).filter((f) => f.endsWith('.wasm'))) {
    parts.push(await measure('workerd', `wasm ${f.replace(/^nettrim\.|\.wasm$/g, '')}`, join(workerOut, f)));
  }
} finally {
  await rm(staged.dir, { recursive: true, force: true });
}

const of = (target: string, pick: (p: Part) => boolean) => parts.filter((p) => p.target === target && pick(p));
const sum = (ps: Part[]) => ({ raw: ps.reduce((s, p) => s + p.raw, 0), gzip: ps.reduce((s, p) => s + p.gzip, 0) });
const isGlue = (p: Part) => p.part.startsWith('JS');
const totals = {
  // a browser that validates relaxed SIMD fetches that build alone; one that does not also fetches the next
  browserOneBuild: sum(of('browser', (p) => isGlue(p) || p.part === 'wasm relaxed')),
  browserAllBuilds: sum(of('browser', () => true)),
  workerd: sum(of('workerd', () => true)),
};
const worst = Math.max(totals.browserAllBuilds.gzip, totals.workerd.gzip);
const result = { parts, totals, aimGzipBytes: AIM_GZIP_BYTES, withinAim: worst <= AIM_GZIP_BYTES };

if (!process.argv.includes('--json')) {
  console.table([
    ...parts.map((p) => ({ target: p.target, part: p.part, raw: p.raw, gzip: p.gzip })),
    { target: 'browser', part: 'total: glue + one build', ...totals.browserOneBuild },
    { target: 'browser', part: 'total: glue + all three builds', ...totals.browserAllBuilds },
    { target: 'workerd', part: 'total', ...totals.workerd },
  ]);
  console.log(`largest total ${(worst / 1024).toFixed(1)} KB gzipped; aim ${AIM_GZIP_BYTES / 1024} KB: ${result.withinAim ? 'met' : 'NOT met'}`);
}
console.log(JSON.stringify(result));

async function measure(target: Part['target'], part: string, file: string): Promise<Part> {
  const bytes = await readFile(file);
  return { target, part, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

// The README's settings table is documentation of DEFAULT_SETTINGS: it must list every setting with
// its real default, so the docs cannot drift from the code (the OSQP lesson in shared/style.md).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { DEFAULT_SETTINGS } from '../src/index.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

test('the settings table lists every default as DEFAULT_SETTINGS has it', () => {
  const section = readme.slice(readme.indexOf('### Settings'), readme.indexOf('### Result'));
  const rows = new Map<string, string>();
  for (const m of section.matchAll(/^\| `(\w+)` \| ([^|]+) \|/gm)) rows.set(m[1], m[2].trim());
  assert.equal([...rows.keys()].sort(), Object.keys(DEFAULT_SETTINGS).sort());
  for (const [key, value] of Object.entries(DEFAULT_SETTINGS)) {
    const documented = rows.get(key)!;
    if (typeof value === 'number') assert.is(Number(documented), value, `${key}: README says ${documented}`);
    else assert.is(documented, String(value), `${key}`);
  }
});

test('the README opens with the demo and the test command', () => {
  const firstBlock = readme.slice(readme.indexOf('```sh'), readme.indexOf('```', readme.indexOf('```sh') + 5));
  assert.match(firstBlock, /npm ci && npm run demo/);
  assert.match(firstBlock, /npm ci && npm test/);
});

test.run();

// The parameter block is declared twice, in AssemblyScript (assembly/params.ts) and TypeScript
// (src/wasm/abi.ts), since the two cannot share a file: this keeps the copies identical.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';

function enumBody(path: string, name: string): Map<string, number> {
  const text = readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
  const start = text.indexOf(`export const enum ${name} {`);
  assert.ok(start >= 0, `${path} declares no enum ${name}`);
  const body = text.slice(start, text.indexOf('}', start)).replace(/\/\/.*$/gm, '');
  return new Map([...body.matchAll(/(\w+)\s*=\s*(\d+)/g)].map((m) => [m[1], Number(m[2])]));
}

test('Param has the same fields at the same indices on both sides', () => {
  const wasm = enumBody('assembly/params.ts', 'Param'), ts = enumBody('src/wasm/abi.ts', 'Param');
  assert.ok(wasm.size >= 40, `only ${wasm.size} fields parsed`);
  assert.equal(Object.fromEntries(ts), Object.fromEntries(wasm));
});

test('RefitParam (the refit kernel block) has the same fields at the same indices on both sides', () => {
  const wasm = enumBody('assembly/refit-params.ts', 'RefitParam'), ts = enumBody('src/wasm/refit-abi.ts', 'RefitParam');
  assert.ok(wasm.size >= 20, `only ${wasm.size} fields parsed`);
  assert.equal(Object.fromEntries(ts), Object.fromEntries(wasm));
});

test('the status codes and the trace record agree', () => {
  const status = enumBody('assembly/params.ts', 'Status');
  const abi = readFileSync(new URL('../src/wasm/abi.ts', import.meta.url), 'utf8');
  const names = JSON.parse(abi.match(/WASM_STATUS = (\[[^\]]*\])/)![1].replace(/'/g, '"')) as string[];
  const camel = (s: string) => s.replace(/-(\w)/g, (_, c: string) => c.toUpperCase()).replace(/^\w/, (c) => c.toUpperCase());
  assert.equal(names.map(camel), [...status.entries()].sort((a, b) => a[1] - b[1]).map(([k]) => k));
  const fields = (path: string) => Number(readFileSync(new URL(`../${path}`, import.meta.url), 'utf8').match(/TRACE_FIELDS(?::\s*i32)?\s*=\s*(\d+)/)![1]);
  assert.is(fields('src/wasm/abi.ts'), fields('assembly/params.ts'));
});

test.run();

// Small helpers the benchmarks share: where they ran, order statistics, plain-text tables.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';

/** Where a benchmark ran: numbers without this are not comparable to anything. */
export interface MachineInfo {
  date: string;
  cpu: string;
  /** CPU family/model as lscpu prints them (a hypervisor may hide the marketing name). */
  cpuFamilyModel: string;
  cores: number;
  /** 1-minute load average at start: other processes share this machine. */
  loadAverage: number;
  node: string;
  v8: string;
  execArgv: string[];
  /** The commit measured, '+dirty' when the work tree had changes (others edit this checkout too). */
  revision: string;
}

export function machineInfo(): MachineInfo {
  const field = (text: string, key: string) => text.match(new RegExp(`^${key}:\\s*(.+)$`, 'm'))?.[1].trim() ?? '?';
  let lscpu = '';
  try {
    lscpu = execFileSync('lscpu', { encoding: 'utf8' });
  } catch {
    // no lscpu: fall back on what Node knows
  }
  return {
    date: new Date().toISOString(),
    cpu: lscpu ? field(lscpu, 'Model name') : os.cpus()[0]?.model ?? '?',
    cpuFamilyModel: lscpu ? `family ${field(lscpu, 'CPU family')}, model ${field(lscpu, 'Model')}` : '?',
    cores: os.availableParallelism(),
    loadAverage: Number(os.loadavg()[0].toFixed(2)),
    node: process.version,
    v8: process.versions.v8,
    execArgv: process.execArgv,
    revision: revision(),
  };
}

function revision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return head + (dirty ? '+dirty' : '');
  } catch {
    return '?';
  }
}

/** Minimum and median of a non-empty list (best and typical; on a shared machine the mean is noise). */
export function bestAndMedian(values: number[]): { best: number; median: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { best: sorted[0], median };
}

/** A left-aligned first column and right-aligned others, separated by two spaces. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** Fixed digits, or '-' for a missing value. */
export function fmt(v: number | undefined | null, digits = 2): string {
  return v === undefined || v === null || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

/** The value after `--name` on the command line, if given. */
export function option(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`${name} needs a value`);
  return v;
}

/** Prints the JSON record last on stdout and, with `--json FILE`, writes it there too. */
export function emitJson(record: unknown, argv: string[]): void {
  const text = JSON.stringify(record, null, 2);
  console.log(text);
  const file = option(argv, '--json');
  if (file) writeFileSync(file, text + '\n');
}

// A fuzz campaign: generate each case into its own folder, run it in the worker with a timeout,
// and check what the issue asks of every run: a result or an input error (no internal error, no
// escaped exception, no crash, no hang), nothing written on error, inputs unchanged, no read out
// of the model's folder, and messages in our words.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFixtures, type Fixtures } from './fixtures.ts';
import { generateCase, type FuzzCase } from './mutate.ts';
import type { WorkerReply } from './worker.ts';

export type Outcome = 'result' | 'not-converged' | 'input-error' | 'internal-error' | 'escaped' | 'crash' | 'hang';
export const OUTCOMES: readonly Outcome[] = ['result', 'not-converged', 'input-error', 'internal-error', 'escaped', 'crash', 'hang'];

export interface CaseResult {
  fuzzCase: FuzzCase;
  outcome: Outcome;
  code: number | null;
  ms: number;
  stderr: string;
  /** Broken promises; empty when the case behaved. */
  violations: string[];
  /** It went past the time limit once and was run again (see runCase). */
  retried: boolean;
}

export interface CampaignOptions {
  seed: number;
  cases: number;
  /** First case index (to resume or reproduce one case). */
  start?: number;
  /** Per-case limit; a case over it is a hang. */
  timeoutMs?: number;
  /** Keep the folders of cases with violations (under the work folder) for inspection. */
  keep?: boolean;
  onCase?: (result: CaseResult) => void;
}

export interface CampaignSummary {
  counts: Record<Outcome, number>;
  /** Cases that passed the time limit once and ended on the second run (a slow machine, not a hang). */
  retried: number;
  violations: CaseResult[];
  seconds: number;
  workDir: string;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
/** A fresh worker now and then bounds what a long campaign can accumulate in one process. */
const CASES_PER_WORKER = 400;
const MAX_LINE = 1200;

/** Texts that must never reach the user without --verbose. */
const FORBIDDEN: Array<[RegExp, string]> = [
  [/undefined/, "'undefined' in a message"],
  [/onnxruntime_src|onnxruntime::|\[[EWIV]:onnxruntime/, 'onnxruntime internals'],
  [/nettrim: nettrim:|nettrim \w+: nettrim/, 'doubled prefix'],
  [/^\s+at .+:\d+:\d+\)?$/m, 'a stack trace'],
  [/\bE[A-Z]{2,}: [a-z]/, 'a raw errno message'],
  [/looks like you are running TensorFlow\.js/, 'the TF.js banner'],
  [/\[object Object\]/, '[object Object] in a message'],
];

export async function runCampaign(options: CampaignOptions): Promise<CampaignSummary> {
  const started = performance.now();
  const fixtures = makeFixtures();
  const workDir = mkdtempSync(join(tmpdir(), 'nettrim-fuzz-'));
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const violations: CaseResult[] = [];
  let retried = 0;
  const worker = new WorkerHandle();
  const first = options.start ?? 0;
  try {
    for (let index = first; index < first + options.cases; index++) {
      if ((index - first) % CASES_PER_WORKER === 0) await worker.restart();
      const result = await runCase(generateCase(options.seed, index, fixtures), workDir, worker, options.timeoutMs ?? 20000, options.keep ?? false);
      counts[result.outcome]++;
      if (result.retried) retried++;
      if (result.violations.length > 0) violations.push(result);
      options.onCase?.(result);
    }
  } finally {
    worker.stop();
    if (!(options.keep && violations.length > 0)) rmSync(workDir, { recursive: true, force: true });
  }
  return { counts, retried, violations, seconds: (performance.now() - started) / 1000, workDir };
}

async function runCase(c: FuzzCase, workDir: string, worker: WorkerHandle, timeoutMs: number, keep: boolean): Promise<CaseResult> {
  const dir = join(workDir, `case-${c.index}`);
  mkdirSync(join(dir, 'out'), { recursive: true });
  for (const [name, bytes] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes);
  }
  for (const name of c.dirs) mkdirSync(join(dir, name), { recursive: true });
  if (c.fifos.length > 0) execFileSync('mkfifo', c.fifos.map((name) => join(dir, name)));
  for (const [name, target] of Object.entries(c.links)) symlinkSync(target, join(dir, name));
  const before = snapshot(dir);
  const args = c.args.map((a) => a.replaceAll('@/', `${dir}/`));
  let reply = await worker.run(args, timeoutMs);
  let retried = false;
  if (reply.kind === 'hang') {
    // A starved machine can stretch a case past the limit: a real hang hangs again, with 3x the time
    // (the case's outputs start from scratch; its inputs are checked against the first snapshot).
    rmSync(join(dir, 'out'), { recursive: true, force: true });
    mkdirSync(join(dir, 'out'));
    const inOut = (name: string): boolean => name.startsWith('out/');
    for (const name of c.dirs.filter(inOut)) mkdirSync(join(dir, name), { recursive: true });
    if (c.fifos.some(inOut)) execFileSync('mkfifo', c.fifos.filter(inOut).map((name) => join(dir, name)));
    for (const [name, target] of Object.entries(c.links)) if (inOut(name)) symlinkSync(target, join(dir, name));
    reply = await worker.run(args, 3 * timeoutMs);
    retried = reply.kind !== 'hang';
  }
  const after = snapshot(dir);

  const outcome: Outcome =
    reply.kind === 'hang' ? 'hang'
    : reply.kind === 'crash' ? 'crash'
    : reply.code === 0 ? 'result'
    : reply.code === 3 && c.kind === 'layer' ? 'not-converged'
    : reply.code === 1 ? 'input-error'
    : reply.code === 70 ? 'internal-error'
    : 'escaped';
  const violations: string[] = [];
  if (!['result', 'not-converged', 'input-error'].includes(outcome)) violations.push(`${outcome} (exit code ${reply.code})`);
  for (const [path, hash] of before) {
    const special = !/^[0-9a-f]{64}$/.test(hash); // a FIFO, a directory or a link: never replaced
    if (path.startsWith('out/') && !special) continue;
    if (after.get(path) !== hash) violations.push(`${special ? 'special file' : 'input'} ${path} changed`);
  }
  const written = [...after.keys()].filter((p) => !before.has(p) && !before.has(`${p}/`));
  if (written.some((p) => p.endsWith('.tmp'))) violations.push(`temporary file left: ${written.filter((p) => p.endsWith('.tmp')).join(', ')}`);
  if (outcome === 'input-error' && written.length > 0) violations.push(`wrote on error: ${written.slice(0, 5).join(', ')}`);
  if (written.some((p) => !p.startsWith('out/'))) violations.push(`wrote outside out/: ${written.filter((p) => !p.startsWith('out/')).slice(0, 5).join(', ')}`);
  if (outcome === 'result' && c.leavesFolder) violations.push('read a shard outside the model folder');
  const stderr = reply.stderr + reply.native;
  for (const [pattern, what] of FORBIDDEN) if (pattern.test(stderr)) violations.push(what);
  if (stderr.split('\n').some((line) => line.length > MAX_LINE)) violations.push(`a line of stderr longer than ${MAX_LINE} characters`);
  if (outcome === 'input-error' && stderr.trim() === '') violations.push('an error without a message');
  if (!(keep && violations.length > 0)) rmSync(dir, { recursive: true, force: true });
  return { fuzzCase: c, outcome, code: reply.code, ms: reply.ms, stderr, violations, retried };
}

/** Every path under `dir` (relative) with a hash of its content (a link: its target text). */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const info = lstatSync(path);
      const rel = relative(dir, path);
      if (info.isDirectory()) {
        out.set(`${rel}/`, 'dir');
        walk(path);
      } else if (info.isSymbolicLink()) out.set(rel, `link:${readlinkSync(path)}`);
      else if (info.isFile()) out.set(rel, createHash('sha256').update(readFileSync(path)).digest('hex'));
      else out.set(rel, `special:${info.mode}`);
    }
  };
  walk(dir);
  out.delete('out/');
  return out;
}

type Reply = { kind: 'done'; code: number; stdout: string; stderr: string; native: string; ms: number }
  | { kind: 'hang' | 'crash'; code: number | null; stderr: string; native: string; ms: number };

/** The worker process: started on demand, replaced after a hang or a crash. */
class WorkerHandle {
  private child: ChildProcess | undefined;
  private native = '';
  private nextId = 0;

  async restart(): Promise<void> {
    this.stop();
    const child = fork(WORKER, [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    child.stderr!.on('data', (d) => (this.native += String(d)));
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`the fuzz worker exited at start (code ${code}): ${this.native}`)));
    });
    this.native = '';
  }

  stop(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    this.child = undefined;
  }

  async run(args: string[], timeoutMs: number): Promise<Reply> {
    if (!this.child) await this.restart();
    const child = this.child!;
    const id = this.nextId++;
    this.native = '';
    const started = performance.now();
    const reply = await new Promise<Reply>((resolve) => {
      const done = (r: Reply): void => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(r);
      };
      const onMessage = (m: WorkerReply): void => {
        if (m.id === id) done({ kind: 'done', code: m.code, stdout: m.stdout, stderr: m.stderr, native: '', ms: m.ms });
      };
      const onExit = (code: number | null): void => done({ kind: 'crash', code, stderr: '', native: '', ms: performance.now() - started });
      const timer = setTimeout(() => done({ kind: 'hang', code: null, stderr: '', native: '', ms: performance.now() - started }), timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send({ id, args });
    });
    await new Promise((r) => setTimeout(r, 5)); // let the native stderr of the case arrive
    reply.native = this.native;
    if (reply.kind !== 'done') await this.restart();
    return reply;
  }
}

export type { Fixtures };

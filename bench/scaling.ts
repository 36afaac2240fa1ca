// How the cost of one layer solve grows: time per ADMM iteration, set-up time and peak memory as P,
// N and M each double (issue 5), plus the P = 60,000 x N = 785 memory check.
//
//   node --import tsx bench/scaling.ts [--threads T] [--quick | --full] [--json FILE]
//
// Each case runs in a child process of its own, so its peak RSS is its own. A case solves a random
// ReLU layer (Gaussian X, a 10%-dense teacher) twice with a fixed iteration count (tolerances set
// unreachably tight): once for 1 iteration and once for 1 + K; per iteration = the difference / K,
// set-up (scaling, Gram or sample matrix, Newton-Schulz inverse) = the first minus one iteration.
// A first, unmeasured solve grows the wasm memory, whose page faults would otherwise land on
// whichever measured solve came first. N and M stop at 2048 unless --full: at 4096 the set-up
// (a Newton-Schulz inverse of a 4000 x 4000 system) alone takes about 90 s here.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LayerSolver } from '../src/index.ts';
import { WasmKernels } from '../src/wasm/interface.ts';
import { emitJson, fmt, formatTable, machineInfo, option } from './common.ts';

interface Case { p: number; n: number; m: number; iterations: number }

interface CaseResult extends Case {
  threads: number;
  flavour: string;
  setupSeconds: number;
  secondsPerIteration: number;
  /** Two N x M x P products per iteration: the rate they imply. */
  gflopsPerSecond: number;
  wasmMemoryMB: number;
  inputMB: number;
  peakRssMB: number;
}

const ITERATIONS = 10;

function cases(quick: boolean, full: boolean): { name: string; list: Case[] }[] {
  const doubling = (from: number, to: number) => {
    const out = [];
    for (let v = from; v <= to; v *= 2) out.push(v);
    return out;
  };
  const pMax = quick ? 8000 : 32000, nmMax = quick ? 1024 : full ? 4096 : 2048;
  return [
    { name: 'P doubles (N = M = 256)', list: doubling(1000, pMax).map((p) => ({ p, n: 256, m: 256, iterations: ITERATIONS })) },
    { name: 'N doubles (P = 4000, M = 256)', list: doubling(256, nmMax).map((n) => ({ p: 4000, n, m: 256, iterations: ITERATIONS })) },
    { name: 'M doubles (P = 4000, N = 256)', list: doubling(256, nmMax).map((m) => ({ p: 4000, n: 256, m, iterations: ITERATIONS })) },
    { name: 'memory: P = 60,000, N = 785, M = 300', list: [{ p: 60000, n: 785, m: 300, iterations: 3 }] },
  ];
}

/** The child's work: one case, printed as JSON. */
async function runCase(c: Case, threads: number | undefined): Promise<CaseResult> {
  const solver = await LayerSolver.create(threads ? { threads } : {});
  const { inputs, outputs } = await randomLayer(c, solver.threads);
  const layer = { inputs, outputs, samples: c.p, inputSize: c.n, outputSize: c.m };
  const settings = { epsilon: 0.05, relTol: 1e-12, absTol: 1e-12, adaptiveRho: false };
  solver.solve(layer, { ...settings, maxIterations: 1 }); // warm-up: grows memory
  const one = solver.solve(layer, { ...settings, maxIterations: 1 });
  const many = solver.solve(layer, { ...settings, maxIterations: 1 + c.iterations });
  const perIteration = (many.seconds - one.seconds) / c.iterations;
  const result: CaseResult = {
    ...c,
    threads: solver.threads,
    flavour: solver.flavour,
    setupSeconds: Math.max(0, one.seconds - perIteration),
    secondsPerIteration: perIteration,
    gflopsPerSecond: (4 * c.n * c.m * c.p) / perIteration / 1e9,
    wasmMemoryMB: solver.memoryBytes / 1e6,
    inputMB: (inputs.byteLength + outputs.byteLength) / 1e6,
    peakRssMB: process.resourceUsage().maxRSS / 1e3,
  };
  await solver.close();
  return result;
}

/** Gaussian inputs and ReLU outputs of a sparse random teacher, the product done by our own kernel. */
async function randomLayer(c: Case, threads: number) {
  let seed = 12345;
  const uniform = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const inputs = new Float32Array(c.p * c.n).map(normal);
  // the kernel tiles 4 rows x 8 columns: pad the teacher's columns and drop them afterwards
  const mp = Math.ceil(c.m / 8) * 8, pp = Math.ceil(c.p / 4) * 4;
  const teacher = new Float32Array(c.n * mp).map((_, i) => (i % mp < c.m && uniform() < 0.1 ? normal() : 0));
  const padded = new Float32Array(pp * c.n);
  padded.set(inputs);
  const kernels = await WasmKernels.create({ threads });
  const product = kernels.product(padded, teacher, pp, mp, c.n, false);
  await kernels.close();
  const outputs = new Float32Array(c.p * c.m);
  for (let q = 0; q < c.p; q++) {
    for (let j = 0; j < c.m; j++) outputs[q * c.m + j] = Math.max(0, product[q * mp + j]);
  }
  return { inputs, outputs };
}

async function main(argv: string[]): Promise<void> {
  const threadsArg = option(argv, '--threads');
  const threads = threadsArg ? Number(threadsArg) : undefined;
  const single = option(argv, '--case');
  if (single) {
    const [p, n, m, iterations] = single.split(',').map(Number);
    console.log(JSON.stringify(await runCase({ p, n, m, iterations }, threads)));
    return;
  }
  const machine = machineInfo();
  const groups = [];
  for (const group of cases(argv.includes('--quick'), argv.includes('--full'))) {
    const results: CaseResult[] = [];
    for (const c of group.list) {
      const args = ['--import', 'tsx', fileURLToPath(import.meta.url), '--case', `${c.p},${c.n},${c.m},${c.iterations}`];
      if (threads) args.push('--threads', String(threads));
      const line = execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 }).trim().split('\n').pop()!;
      results.push(JSON.parse(line));
      process.stderr.write('.');
    }
    process.stderr.write('\n');
    console.log(`\n${group.name}`);
    console.log(formatTable(
      ['P', 'N', 'M', 'threads', 'set-up s', 's / iteration', 'GFLOP/s', 'wasm MB', 'inputs MB', 'peak RSS MB'],
      results.map((r) => [String(r.p), String(r.n), String(r.m), String(r.threads), fmt(r.setupSeconds, 3),
        fmt(r.secondsPerIteration, 4), fmt(r.gflopsPerSecond, 1), fmt(r.wasmMemoryMB, 1), fmt(r.inputMB, 1), fmt(r.peakRssMB, 0)]),
    ));
    groups.push({ name: group.name, results });
  }
  emitJson({ machine, iterations: ITERATIONS, groups }, argv);
}

await main(process.argv.slice(2));

// One epsilon on a wide MLP (bench/wide-mlp.ts writes one) with two wasm builds in one process:
// another commit's (--before DIR, e.g. main's `asc assembly/index.ts --target simd` and
// `--target simd-threads` output) and this checkout's, so both see the same machine load.
//
//   node --import tsx bench/wide-compare.ts MODEL.onnx --calib X.npy --before DIR
//       [--samples 300] [--max-iterations 40] [--threads 1]
//
// With --threads 1 the solves run on this thread and the CPU seconds are the steady measure.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseNpy } from '../src/io/npy.ts';
import { pruneModel } from '../src/prune/index.ts';
import { setHostWasm } from '../src/wasm/load.ts';
import { fmt, formatTable, machineInfo, option } from './common.ts';

async function main(argv: string[]) {
  const modelPath = argv[0]!, calibPath = option(argv, '--calib')!, before = option(argv, '--before')!;
  const samples = Number(option(argv, '--samples') ?? 300), maxIterations = Number(option(argv, '--max-iterations') ?? 40);
  const threads = Number(option(argv, '--threads') ?? 1);
  const digits = parseNpy(readFileSync(calibPath), calibPath);
  const width = digits.shape.slice(1).reduce((a, b) => a * b, 1);
  const calibration = { data: digits.data.subarray(0, samples * width), shape: [samples, ...digits.shape.slice(1)] };
  const rows: string[][] = [];
  for (const [build, dir] of [['before', before], ['after', null]] as const) {
    setHostWasm(dir ? async (name) => new Uint8Array(await readFile(join(dir, `nettrim.${name}.wasm`)).catch(() => new Uint8Array(8))) : undefined);
    const c0 = process.cpuUsage(), t0 = performance.now();
    const outcome = await pruneModel(modelPath, calibration, { epsilon: 0.05, threads, solver: { maxIterations } });
    const used = process.cpuUsage(c0);
    const r = outcome.report;
    rows.push([
      build, fmt((performance.now() - t0) / 1000, 1), fmt((used.user + used.system) / 1e6, 1),
      r.layers.map((l) => `${l.name}: ${l.iterations} it, ${fmt(l.seconds, 1)} s`).join('; '),
      fmt(r.total.removedFraction, 4),
    ]);
    process.stderr.write('.');
  }
  setHostWasm(undefined);
  process.stderr.write('\n');
  console.log(JSON.stringify({ ...machineInfo(), modelPath, samples, maxIterations, threads, before }));
  console.log(formatTable(['build', 'wall s', 'CPU s', 'layers (iterations, solve wall s)', 'removed'], rows));
}

await main(process.argv.slice(2));

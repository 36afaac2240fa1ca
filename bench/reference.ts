// Running the NumPy reference (../shared/reference/nettrim_ref.py) for bench/layer.ts: finding
// numpy, saying which BLAS it runs, and reading the peak RSS of each reference process.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** One JSON line of nettrim_ref.py, plus the memory of the process that printed it. */
export interface ReferenceRun {
  seconds: number; iterations: number;
  /** Non-bias nonzeros (W[:-1] after zeroing |w| < 1e-9) and the count of non-bias weights. */
  nnz: number; weights: number;
  /** Sum of |w| including the bias row. */
  l1: number;
  relative_error: number; max_inactive: number;
  /** Peak RSS of the process, and of python3 importing numpy and scipy alone (its baseline). */
  peakRssBytes: number; baselineRssBytes: number;
}

export interface ReferenceCommand {
  python: string;
  script: string;
  /** Folder of the .npy files; the command names them relative to it, as its README does. */
  dataDir: string;
  x: string; y: string; gain: number; linear: boolean;
}

export type BlasInfo = Record<string, unknown>;

export const INSTALL_HINT = 'to compare, install NumPy and SciPy: apt-get install python3-numpy python3-scipy';

/**
 * The environment numpy is benchmarked in: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are set on some
 * machines here for old OpenBLAS builds and slow a current one down (/work/.library/env), so both go.
 */
function referenceEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/** Null when `python` imports numpy and scipy; else the reason. */
export function numpyMissing(python: string): string | null {
  if (!existsSync(python)) return `${python} not found`;
  const probe = spawnSync(python, ['-c', 'import numpy, scipy.linalg'], { encoding: 'utf8', env: referenceEnv() });
  return probe.status === 0 ? null : `${python} cannot import numpy and scipy (${probe.stderr.trim().split('\n').pop()})`;
}

// Which BLAS numpy runs, asked the way threadpoolctl does (used too when installed): the BLAS
// libraries mapped into the process, and OpenBLAS's own get_config / get_corename / get_num_threads.
const BLAS_PROBE = `
import ctypes, json, numpy, scipy.linalg
info = {"numpy": numpy.__version__}
try:
    import threadpoolctl
    info["threadpoolctl"] = threadpoolctl.threadpool_info()
except ImportError:
    pass
try:
    info["show_config_blas"] = numpy.show_config(mode="dicts")["Build Dependencies"]["blas"]
except TypeError:
    info["show_config_blas"] = getattr(numpy.__config__, "blas_opt_info", None)
libs = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.lower() and l.split()[-1].startswith("/")})
info["loaded_blas_libraries"] = libs
for lib_path in libs:
    try:
        lib = ctypes.CDLL(lib_path)
        for name in ("openblas_get_config", "openblas_get_corename"):
            fn = getattr(lib, name); fn.restype = ctypes.c_char_p
            info[name] = fn().decode()
        info["openblas_threads"] = lib.openblas_get_num_threads()
        break
    except (OSError, AttributeError):
        continue
print(json.dumps(info))
`;

/** numpy's version and BLAS, in the same environment the reference runs in. */
export function blasInfo(python: string): BlasInfo {
  const probe = spawnSync(python, ['-c', BLAS_PROBE], { encoding: 'utf8', env: referenceEnv() });
  return probe.status === 0 ? (JSON.parse(probe.stdout) as BlasInfo) : { error: probe.stderr.trim() };
}

/** One line for the table: the library, its kernel and its threads. */
export function describeBlas(b: BlasInfo): string {
  if (typeof b.openblas_get_config === 'string') {
    return `OpenBLAS (${b.openblas_get_config}; core ${b.openblas_get_corename}, ${b.openblas_threads} threads)`;
  }
  const libs = b.loaded_blas_libraries as string[] | undefined;
  return libs?.length ? libs.join(', ') : JSON.stringify(b.show_config_blas ?? b);
}

const GNU_TIME = '/usr/bin/time';
// Without GNU time: python runs the command as its child and reads the children's ru_maxrss.
const RUSAGE_WRAPPER = `
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:]).returncode
sys.stderr.write("Maximum resident set size (kbytes): %d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
sys.exit(code)
`;

/** Runs a python command in the reference's environment; returns its stdout and peak RSS in bytes. */
function runMeasured(command: string[], cwd: string): { stdout: string; peakRssBytes: number } {
  const [file, args] = existsSync(GNU_TIME) ? [GNU_TIME, ['-v', ...command]] : [command[0], ['-c', RUSAGE_WRAPPER, ...command]];
  const child = spawnSync(file, args, { cwd, encoding: 'utf8', env: referenceEnv(), maxBuffer: 1 << 24 });
  if (child.status !== 0) throw new Error(`${command.join(' ')} failed (exit ${child.status}): ${child.stderr}`);
  const kb = child.stderr.match(/Maximum resident set size \(kbytes\): (\d+)/);
  if (!kb) throw new Error(`no peak RSS in the output of ${file}`);
  return { stdout: child.stdout, peakRssBytes: Number(kb[1]) * 1024 };
}

/** Peak RSS of python3 importing what the reference imports, and nothing else. */
export function referenceBaseline(python: string, cwd: string): number {
  return runMeasured([python, '-c', 'import json, numpy, scipy.linalg'], cwd).peakRssBytes;
}

/** One run of `python3 nettrim_ref.py X.npy Y.npy GAIN [--linear]` in the data folder. */
export function runReference(c: ReferenceCommand, baselineRssBytes: number): ReferenceRun {
  const command = [c.python, c.script, c.x, c.y, String(c.gain), ...(c.linear ? ['--linear'] : [])];
  const { stdout, peakRssBytes } = runMeasured(command, c.dataDir);
  const line = stdout.trim().split('\n').pop()!;
  return { ...(JSON.parse(line) as Omit<ReferenceRun, 'peakRssBytes' | 'baselineRssBytes'>), peakRssBytes, baselineRssBytes };
}

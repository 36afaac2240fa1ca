// --threads beyond the host's cores only slows the solve down (every helper thread spins on the
// same cores) and, far enough beyond, exhausts memory for the workers: clamp it, and say so.
import { availableParallelism } from 'node:os';

/** `requested` (or undefined for the default) clamped to the cores; a note on stderr when clamped. */
export function clampThreads(requested: number | undefined): number | undefined {
  if (requested === undefined) return undefined;
  const cores = Math.max(1, availableParallelism());
  if (requested <= cores) return requested;
  process.stderr.write(`nettrim: --threads ${requested} is more than the ${cores} cores this machine can run at once; using ${cores}\n`);
  return cores;
}

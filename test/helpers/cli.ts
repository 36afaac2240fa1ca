// Running `nettrim prune` inside the test process: faster than a child process, and the exit code
// and output are captured exactly as the command sets them.
import { Command } from 'commander';
import { registerPruneCommand } from '../../src/cli/prune.ts';

/** Runs the prune command with `args`; returns what it wrote and the exit code it set. */
export async function prune(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const program = new Command('nettrim').exitOverride();
  registerPruneCommand(program);
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string) => ((stdout += chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  process.exitCode = 0;
  let code = 0;
  try {
    await program.parseAsync(['prune', ...args], { from: 'user' });
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    code = (e as { exitCode?: number }).exitCode ?? 1;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = 0;
  }
  return { code, stdout, stderr };
}

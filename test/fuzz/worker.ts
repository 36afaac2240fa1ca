// The fuzz worker: a child process that runs `nettrim` commands in-process, one per message from
// the campaign, and answers with the exit code and what the command printed. A case that hangs or
// crashes the process is caught by the campaign (timeout, exit), which then starts a new worker.
import { Command } from 'commander';
import { registerLayerCommand } from '../../src/cli/layer.ts';
import { registerPruneCommand } from '../../src/cli/prune.ts';
import { loadTensorFlow } from '../../src/tfjs/runtime.ts';

export interface WorkerRequest { id: number; args: string[] }
export interface WorkerReply { id: number; code: number; stdout: string; stderr: string; ms: number }

const out = process.stdout.write.bind(process.stdout);
const err = process.stderr.write.bind(process.stderr);

async function runCommand(args: string[]): Promise<Omit<WorkerReply, 'id'>> {
  const program = new Command('nettrim').exitOverride().configureOutput({ writeErr: (s) => void (stderr += s), writeOut: (s) => void (stdout += s) });
  registerLayerCommand(program);
  registerPruneCommand(program);
  for (const command of program.commands) command.exitOverride().configureOutput({ writeErr: (s) => void (stderr += s), writeOut: (s) => void (stdout += s) });
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  process.exitCode = 0;
  const started = performance.now();
  let code: number;
  try {
    await program.parseAsync(args, { from: 'user' });
    code = Number(process.exitCode ?? 0);
  } catch (e) {
    // commander's own refusals (a flag value) come here with its exit code; anything else escaped the command
    const exit = (e as { exitCode?: number; code?: string }).code?.startsWith('commander.') ? (e as { exitCode: number }).exitCode : 99;
    if (exit === 99) stderr += `ESCAPED: ${(e as Error)?.stack ?? String(e)}\n`;
    code = exit;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    process.exitCode = 0;
  }
  return { code, stdout, stderr, ms: performance.now() - started };
}

process.on('unhandledRejection', (reason) => {
  err(`UNHANDLED REJECTION: ${(reason as Error)?.stack ?? String(reason)}\n`);
  process.exit(98);
});

process.on('message', (message: WorkerRequest) => {
  void runCommand(message.args).then((reply) => process.send!({ id: message.id, ...reply }));
});
// Load both runtimes before the first case, so that no case's time includes their start-up.
const tfjs = await loadTensorFlow();
void (await import('onnxruntime-node'));
void tfjs;
process.send!({ id: -1, code: 0, stdout: 'ready', stderr: '', ms: 0 });

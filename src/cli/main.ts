#!/usr/bin/env node
// The nettrim command: one program with a subcommand per job. Errors end as one line on stderr
// and a non-zero exit code; nothing is written on error (outputs are atomic).
import { Command } from 'commander';
import { registerLayerCommand } from './layer.ts';
import { registerPruneCommand } from './prune.ts';
import { reportFailure } from './failure.ts';

const program = new Command()
  .name('nettrim')
  .description('Net-Trim: convex pruning of trained neural networks, layer by layer')
  .version('0.1.0')
  .showHelpAfterError();

registerLayerCommand(program);
registerPruneCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // The commands report their own failures; this is for the rest (commander's own errors are
  // printed by commander and end the process before reaching here).
  process.exitCode = reportFailure('nettrim', err, process.argv.includes('--verbose'));
}

#!/usr/bin/env node
// The nettrim command: one program with a subcommand per job. Errors end as one line on stderr
// and a non-zero exit code; nothing is written on error (outputs are atomic).
import { Command } from 'commander';
import { registerLayerCommand } from './layer.ts';
import { registerPruneCommand } from './prune.ts';

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
  console.error(`nettrim: ${(err as Error).message}`);
  process.exitCode = 1;
}

// How a command ends on an error: one line on stderr in our words, the file and the problem first,
// and an exit code that tells a script what happened. The runtimes' own texts (onnxruntime's C++
// signatures, TensorFlow.js internals) and stacks appear only with --verbose.
import { InputError } from '../errors.ts';

/** Exit codes: 1 bad input (the message says what to fix), 70 a bug of ours (EX_SOFTWARE), 130 Ctrl-C. */
export const EXIT_INPUT = 1;
export const EXIT_INTERNAL = 70;
export const EXIT_INTERRUPTED = 130;

/** Longest error line printed without --verbose; longer ones are cut (a hostile file's names). */
const MAX_LINE = 1000;

/** Prints the failure of `command` ('nettrim prune') and returns the exit code to set. */
export function reportFailure(command: string, err: unknown, verbose: boolean): number {
  const error = err instanceof Error ? err : new Error(String(err));
  if (error.name === 'AbortError') {
    process.stderr.write(`${command}: ${ourWords(error.message)}\n`);
    return EXIT_INTERRUPTED;
  }
  const input = error instanceof InputError;
  const message = ourWords(error.message);
  const line = input ? message : `internal error (a bug in nettrim, please report it): ${message}`;
  process.stderr.write(`${command}: ${verbose ? line : shorten(line)}\n`);
  if (verbose) {
    for (let cause = error.cause, depth = 0; cause !== undefined && depth < 5; cause = (cause as Error).cause, depth++) {
      process.stderr.write(`  caused by: ${cause instanceof Error ? cause.message : String(cause)}\n`);
    }
    if (!input && error.stack) process.stderr.write(`${error.stack}\n`);
  }
  return input ? EXIT_INPUT : EXIT_INTERNAL;
}

/** Drops a "nettrim: " that a library message already starts with (no "nettrim: nettrim: "). */
function ourWords(message: string): string {
  return message.replace(/^(nettrim(?: \w+)?: )+/, '');
}

function shorten(line: string): string {
  const first = line.split('\n')[0]!;
  return first.length <= MAX_LINE ? first : `${first.slice(0, MAX_LINE)}... (message cut; --verbose prints it whole)`;
}

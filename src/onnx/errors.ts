// One error class for everything a user can get wrong (a file, a flag, a shape), so that the
// command can print the message alone and exit non-zero, while a bug still shows its stack.

/** A problem with the user's inputs: the message names the file or value and what is wrong. */
export class InputError extends Error {
  override name = 'InputError';
}

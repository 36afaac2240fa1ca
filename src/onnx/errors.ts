// One error class for everything a user can get wrong (a file, a flag, a shape), so that the
// command can print the message alone and exit non-zero, while a bug still shows its stack.

/** A problem with the user's inputs: the message names the file or value and what is wrong. */
export class InputError extends Error {
  override name = 'InputError';
}

/**
 * An error message of onnxruntime or TensorFlow.js in our words: without onnxruntime's status
 * prefix, source paths and C++ signatures, and cut to one line of reasonable length. The raw text
 * stays available as the InputError's `cause` (printed with --verbose).
 */
export function runtimeMessage(err: unknown, max = 300): string {
  let text = err instanceof Error ? err.message : String(err);
  text = text
    .replace(/\x1b\[[0-9;]*m/g, '') // colours
    .replace(/\[ONNXRuntimeError\]\s*:\s*\d+\s*:\s*\w+\s*:\s*/g, '')
    .replace(/\s*[\w./\\-]*onnxruntime_src[^\s:]*:\d+\s*/g, ' ')
    .replace(/\b(?:void|bool|int|auto|(?:[\w]+::)*Status)\s+(?=(?:[\w~<>]+::)+[\w~<>]+\()/g, '')
    .replace(/(?:[\w~<>]+::)+[\w~<>]+\((?:[^()]|\([^()]*\))*\)\s*(?:const\s*)?/g, '')
    .replace(/Load model from \S+ failed:\s*/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  // TensorFlow.js allocating a tensor of an absurd size (a hostile units or shape in modelTopology)
  text = text.replace(/^Invalid typed array length: (\d+)$/, 'a tensor of $1 values, more than memory can hold (check the layer sizes in modelTopology)');
  if (text === '') text = 'no reason given';
  return text.length <= max ? text : `${text.slice(0, max)}...`;
}

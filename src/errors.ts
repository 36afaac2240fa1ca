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
    .replace(/Load model from \S+ failed:\s*/g, '')
    .replace(/Non-zero status code returned while running (\w+) node\. Name:'([^']*)' Status Message:\s*/g,
      (_, op: string, name: string) => (name ? `node '${name}' (${op}): ` : `a ${op} node: `));
  // "/onnxruntime_src/.../clip.cc:53 void onnxruntime::X<T>::f(const Tensor*, ...) const [with T = float] max should be..."
  for (let at = text.search(SOURCE_PATH); at >= 0; at = text.search(SOURCE_PATH)) {
    const path = SOURCE_PATH.exec(text.slice(at))![0];
    const rest = text.slice(at + path.length);
    text = `${text.slice(0, at)} ${rest.slice(signatureLength(rest))}`;
  }
  // anything of a signature left (a message without a source location)
  text = text
    .replace(/\([^()]*::[^()]*\)\s*(?:const\s*)?(?:\[with [^\]]*\]\s*)?/g, ' ')
    .replace(/\S*onnxruntime::\S*/g, ' ')
    .replace(/\s+/g, ' ').trim();
  // TensorFlow.js allocating a tensor of an absurd size (a hostile units or shape in modelTopology)
  text = text.replace(/^Invalid typed array length: (\d+)$/, 'a tensor of $1 values, more than memory can hold (check the layer sizes in modelTopology)');
  if (text === '') text = 'no reason given';
  return text.length <= max ? text : `${text.slice(0, max)}...`;
}

/** onnxruntime's source location in its messages: "/onnxruntime_src/onnxruntime/core/graph/model.cc:202 ". */
const SOURCE_PATH = /\s*[\w./\\-]*onnxruntime_src[^\s:]*:\d+\s*/;

/**
 * Length of the C++ signature that starts `text` ("void ns::f(args) const [with T = float] "), 0 when
 * there is none: words up to the first parenthesis, the argument lists, then const and [with ...].
 */
function signatureLength(text: string): number {
  const head = /^[\w:<>~,*& ]*?(?:::|operator)[\w:<>~,*& ]*\(/.exec(text);
  if (!head) return 0;
  let i = head[0].length - 1;
  for (;;) {
    let depth = 0;
    for (; i < text.length; i++) {
      if (text[i] === '(') depth++;
      else if (text[i] === ')' && --depth === 0) break;
    }
    i++;
    while (text[i] === ' ') i++;
    if (text[i] !== '(') break; // operator()(args): a second list
  }
  const tail = /^(?:const\s*)?(?:\[with [^\]]*\]\s*)?/.exec(text.slice(i))!;
  return Math.min(text.length, i + tail[0].length);
}

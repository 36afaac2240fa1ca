// Values in error messages: long lists and shapes shortened, so that a hostile 10,000-dimension
// shape gives a one-line message rather than 30 KB of digits.

/** Items shown at each end of a shortened list. */
const KEEP = 4;

/** "1, 2, 3" or, past 2 * KEEP items, "1, 2, 3, 4, ... (9,992 more) ..., 7, 8, 9, 10". */
export function listText(items: ReadonlyArray<string | number | bigint>, keep = KEEP): string {
  if (items.length <= 2 * keep + 1) return items.join(', ');
  const hidden = items.length - 2 * keep;
  return `${items.slice(0, keep).join(', ')}, ... (${hidden} more) ..., ${items.slice(-keep).join(', ')}`;
}

/** "[200, 16]" with long shapes shortened. */
export function shapeText(dims: ReadonlyArray<string | number | bigint>): string {
  return `[${listText(dims)}]`;
}

/** At most `max` characters of a piece of user text (a name, a path inside a file), marked when cut. */
export function clip(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}

/** A JSON value for a message: 'nothing' when absent (never "undefined"), long ones shortened. */
export function jsonText(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return clip(text, 120);
}

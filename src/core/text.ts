/**
 * User-supplied text (tags) in lifeguard's own text output: cut to a fixed size and
 * with every control, line-separator and bidirectional-override character escaped,
 * so a tag can neither forge a log line nor reorder what a terminal shows. Runs only
 * when text is built (reports, errors), never on the hot path.
 */

/** At most this many characters of a tag appear in a message or report. */
export const MAX_TAG_TEXT = 120;

/**
 * C0 and C1 controls, DEL, U+2028/U+2029, and the bidi controls (U+061C, U+200E,
 * U+200F, U+202A–U+202E, U+2066–U+2069).
 */
// eslint-disable-next-line no-control-regex
export const UNSAFE_CHARS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// eslint-disable-next-line no-control-regex
const UNSAFE_TEST = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** True when `s` holds a character {@link escapeText} would escape. */
export function hasUnsafeChars(s: string): boolean {
  return UNSAFE_TEST.test(s);
}

/** `s` with each unsafe character as `\uXXXX` (and `\\`, `"` escaped), cut to `max` characters plus `…(N more)`. */
export function escapeText(s: string, max = MAX_TAG_TEXT): string {
  let cut = s.length > max ? s.slice(0, max) : s;
  // never leave half a surrogate pair at the cut
  if (cut.length > 0 && /[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1);
  const body = cut.replace(/[\\"]/g, (c) => `\\${c}`).replace(UNSAFE_CHARS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return s.length > cut.length ? `${body}…(${s.length - cut.length} more)` : body;
}

/** A tag in double quotes, escaped and cut: `"GET /users"`. */
export function quoteTag(tag: string): string {
  return `"${escapeText(tag)}"`;
}

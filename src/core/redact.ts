/** One place that keeps secrets out of text. */

/** `postgres://u:secret@h/db` -> `postgres://u:***@h/db`; also `?password=`. */
export function redactUrl(url: string): string {
  return url
    .replace(/(\/\/[^/@:]*:)[^@/]*@/, '$1***@')
    .replace(/([?&](?:password|pass|pwd)=)[^&]*/gi, '$1***');
}

/** Replaces each occurrence of the given secrets in `text` with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0) out = out.split(s).join('***');
  return out;
}

/** Scrubs an error's message and stack in place (and its cause's), and returns it. */
export function scrubError<E>(err: E, secrets: readonly string[]): E {
  if (secrets.length === 0 || typeof err !== 'object' || err === null) return err;
  const e = err as { message?: unknown; stack?: unknown; cause?: unknown; input?: unknown };
  try {
    if (typeof e.message === 'string') e.message = scrub(e.message, secrets);
    if (typeof e.stack === 'string') e.stack = scrub(e.stack, secrets);
    if (typeof e.input === 'string') e.input = scrub(e.input, secrets);
    if (e.cause !== undefined && e.cause !== err) scrubError(e.cause, secrets);
  } catch {
    // frozen error objects: leave them
  }
  return err;
}

/** One place that keeps secrets out of text and out of every object lifeguard hands out. */

/**
 * `postgres://u:secret@h/db` -> `postgres://u:***@h/db`; also `?password=`.
 * The user-info ends at the *last* `@` of the URL, so a password with an unencoded
 * `/`, `@`, `:`, `?` or `#` is masked whole (an `@` later in the URL masks more, never less).
 */
export function redactUrl(url: string): string {
  let out = url;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(out);
  if (scheme !== null) {
    const start = scheme[0].length;
    const at = out.lastIndexOf('@');
    if (at > start) {
      const userInfo = out.slice(start, at);
      const colon = userInfo.indexOf(':');
      // no colon: the whole user-info may be a secret (redis://secret@host), unless it is a plain user name
      const masked = colon === -1 ? (/^[\w.-]*$/.test(userInfo) ? userInfo : '***') : `${userInfo.slice(0, colon)}:***`;
      out = out.slice(0, start) + masked + out.slice(at);
    }
  }
  return out.replace(/([?&](?:password|pass|pwd)=)[^&#]*/gi, '$1***');
}

/** The password in a URL's user-info (decoded when it can be), found as {@link redactUrl} finds it. */
export function urlPassword(url: string): string | undefined {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (scheme === null) return undefined;
  const at = url.lastIndexOf('@');
  if (at <= scheme[0].length) return undefined;
  const userInfo = url.slice(scheme[0].length, at);
  const colon = userInfo.indexOf(':');
  const pw = colon === -1 ? userInfo : userInfo.slice(colon + 1);
  return pw === '' ? undefined : pw;
}

/** Every spelling of `secret` that may show up in text: as given, URL-decoded and URL-encoded. */
export function secretForms(secret: string): string[] {
  const out = [secret];
  try {
    out.push(decodeURIComponent(secret));
  } catch {
    // not URL-encoded
  }
  out.push(encodeURIComponent(secret));
  return [...new Set(out.filter((s) => s.length > 0))];
}

/** Replaces each occurrence of the given secrets in `text` with `***`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length > 0 && out.includes(s)) out = out.split(s).join('***');
  return out;
}

const MAX_DEPTH = 6;

/**
 * Scrubs an error in place (and returns it): message, stack, cause, and every own
 * property, nested objects and arrays included (ioredis's `err.command.args` holds
 * the AUTH password), so `util.inspect`, `JSON.stringify` and log serializers print
 * no secret. Frozen or exotic objects are left as they are.
 */
export function scrubError<E>(err: E, secrets: readonly string[]): E {
  if (secrets.length === 0 || typeof err !== 'object' || err === null) return err;
  scrubObject(err as object, secrets, new WeakSet(), 0);
  return err;
}

function scrubObject(obj: object, secrets: readonly string[], seen: WeakSet<object>, depth: number): void {
  if (seen.has(obj) || depth > MAX_DEPTH) return;
  seen.add(obj);
  // buffers, maps and class instances other than errors: their own enumerable props only
  if (ArrayBuffer.isView(obj)) return;
  let keys: (string | symbol)[];
  try {
    keys = Reflect.ownKeys(obj);
  } catch {
    return;
  }
  // message and stack are own but not enumerable on errors; cause too
  for (const key of keys) {
    let value: unknown;
    try {
      const d = Object.getOwnPropertyDescriptor(obj, key);
      if (d === undefined || !('value' in d)) continue; // accessors are not evaluated
      value = d.value;
      if (typeof value === 'string') {
        const clean = scrub(value, secrets);
        if (clean !== value) (obj as Record<string | symbol, unknown>)[key] = clean;
      } else if (typeof value === 'object' && value !== null) {
        scrubObject(value, secrets, seen, depth + 1);
      }
    } catch {
      // read-only or frozen: leave it
    }
  }
}

/** A value as text, for any thrown value (`String()` throws for `Object.create(null)`). */
export function describeValue(value: unknown): string {
  if (value instanceof Error) return value.message;
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return 'a value that cannot be converted to a string';
    }
  }
}

/**
 * Any thrown value as an `Error`: an `Error` (or an object that looks like one) as it
 * is, anything else as a new `Error` describing it, with the original as `cause`.
 */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(`non-error thrown: ${describeValue(value)}`, { cause: value });
}

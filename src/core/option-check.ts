/**
 * Checking one option value: the bounds every option is held to, and the
 * `ConfigError`s that name the pool, the option and the bad value.
 */
import { ConfigError } from './errors.js';
import { escapeText, hasUnsafeChars } from './text.js';

/** The longest duration any option takes: 2³¹−1 ms (about 24.8 days), the most a Node timer can wait. */
export const MAX_DURATION_MS = 2_147_483_647;
/** The largest connection budget (`max`) a pool takes. */
export const MAX_CONNECTIONS = 10_000;
/** The largest `maxWaiting` a pool takes. */
export const MAX_WAITING_LIMIT = 1_000_000;
/** The longest pool name or app name. */
export const MAX_NAME_LENGTH = 200;

/** Shows a value in an error message; strings are quoted, long ones cut. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `"${escapeText(value, 80)}"`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/** True for a name that may be shown and sent to a server: short, without control, line-separator or bidi characters. */
export function isSafeName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH && !hasUnsafeChars(value);
}

/** Checks values and builds `ConfigError`s that name the pool, the option and the value. */
export class OptionChecker {
  constructor(readonly pool: string) {}

  fail(option: string, expected: string, value: unknown): never {
    throw new ConfigError(`lifeguard: pool "${this.pool}": option ${option} must be ${expected}, got ${show(value)}`, {
      pool: this.pool,
      option,
    });
  }

  int(option: string, value: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(option, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`, value);
    }
    return value;
  }

  /** A duration in milliseconds: an integer from `min` to {@link MAX_DURATION_MS}. */
  ms(option: string, value: unknown, min: number): number {
    return this.int(option, value, min, MAX_DURATION_MS);
  }

  /** A pool or app name: a non-empty string of at most 200 characters, without control or bidi characters. */
  name(option: string, value: unknown): string {
    const s = this.string(option, value);
    if (!isSafeName(s)) {
      this.fail(option, `a string of at most ${MAX_NAME_LENGTH} characters without control, line-separator or bidi characters`, value);
    }
    return s;
  }

  fraction(option: string, value: unknown): number {
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) this.fail(option, 'a number from 0 to 1', value);
    return value;
  }

  oneOf<T>(option: string, value: unknown, allowed: readonly T[]): T {
    if (!allowed.includes(value as T)) this.fail(option, `one of ${allowed.map(show).join(', ')}`, value);
    return value as T;
  }

  string(option: string, value: unknown): string {
    if (typeof value !== 'string' || value.length === 0) this.fail(option, 'a non-empty string', value);
    return value;
  }

  object(option: string, value: unknown): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(option, 'an object', value);
    return value as Record<string, unknown>;
  }

  unknownKeys(prefix: string, obj: Record<string, unknown>, allowed: ReadonlySet<string>, hint?: string): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.has(key) && obj[key] !== undefined) {
        throw new ConfigError(
          `lifeguard: pool "${this.pool}": unknown option ${prefix}${key}` +
            (hint ? ` (${hint})` : ` (allowed: ${[...allowed].join(', ')})`),
          { pool: this.pool, option: prefix + key },
        );
      }
    }
  }
}

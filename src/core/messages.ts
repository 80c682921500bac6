/**
 * The engine's error and log text in one place: what a user reads when an acquire
 * times out or is refused, when the circuit is open, at a connection ceiling or a
 * nested acquire. Runs only when such a thing happens, never on the hot path.
 */
import type { Engine } from './engine.js';
import {
  AcquireTimeoutError,
  type AcquireTimeoutCause,
  CircuitOpenError,
  ConfigError,
  NestedAcquireError,
  QueueFullError,
  type PoolSnapshot,
} from './errors.js';
import type { LeaseRecord } from './lease.js';
import { siteOrReason } from './leaks.js';
import { type AcquireOptions, MAX_DURATION_MS, type ResolvedCommonOptions } from './options.js';
import { describeValue } from './redact.js';

/** The first bad option of an `acquire()`, checked before anything else happens, whether the call would wait or not. */
export function badAcquireOptions(pool: string, opts: AcquireOptions): ConfigError | undefined {
  if (typeof opts !== 'object' || opts === null) return optionError(pool, 'acquire', 'options', 'an object', opts);
  const { timeoutMs, signal, tag } = opts;
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_DURATION_MS)) {
    return optionError(pool, 'acquire', 'timeoutMs', `an integer from 1 to ${MAX_DURATION_MS}`, timeoutMs);
  }
  if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.addEventListener !== 'function')) {
    return optionError(pool, 'acquire', 'signal', 'an AbortSignal', signal);
  }
  if (tag !== undefined && typeof tag !== 'string') return optionError(pool, 'acquire', 'tag', 'a string', tag);
  return undefined;
}

/** A bad option of `acquire()` or `close()`. */
export function optionError(pool: string, call: 'acquire' | 'close', option: string, expected: string, value: unknown): ConfigError {
  return new ConfigError(`lifeguard: pool "${pool}": ${call} option ${option} must be ${expected}, got ${describeValue(value)}`, { pool, option });
}

export function queueFullError(pool: string, options: ResolvedCommonOptions, active: number, idle: number, waiting: number): QueueFullError {
  const snapshot = { active, idle, waiting, max: options.max };
  return new QueueFullError(
    `lifeguard: pool "${pool}": ${waiting} callers already wait for a connection (maxWaiting ${options.maxWaiting}; ` +
      `in use ${active}/${options.max}); refusing this acquire at once instead of queueing it`,
    { pool, maxWaiting: options.maxWaiting, snapshot },
  );
}

/** An acquire that waited `waitedMs` and got no connection: the counts, the budget, why, and who holds the connections. */
export function timeoutError<C, F>(
  e: Engine<C, F>,
  timeoutMs: number,
  nestedHeld: LeaseRecord<C> | undefined,
  waitedMs: number,
  summary: string,
  snapshot: PoolSnapshot,
  failing: boolean,
): AcquireTimeoutError {
  const tripped = e.resilience.tripped;
  const reason: AcquireTimeoutCause = tripped ? 'circuit-open' : failing ? 'connect-failing' : 'pool-full';
  let msg =
    `lifeguard: pool "${e.name}": timeout exceeded when trying to connect: no connection within ${timeoutMs} ms ` +
    `(in use ${snapshot.active}/${snapshot.max}, idle ${snapshot.idle}, waiting ${snapshot.waiting})`;
  const held = e.budget.held;
  const other = held.shared + held.dedicated + held.listener + held.subscriber;
  if (other > 0) {
    msg += `; budget ${e.options.max}: ${held.pooled} pooled, ${held.shared} shared, ${held.dedicated} dedicated, ${held.listener} listener, ${held.subscriber} subscriber`;
  }
  if (tripped) msg += `; the circuit is ${e.resilience.state} after repeated connection failures`;
  const cause = e.supply.lastConnectError;
  if (failing) msg += `; connecting keeps failing: ${describeValue(cause)}`;
  msg += `; longest holders: ${summary}`;
  if (nestedHeld !== undefined) {
    msg +=
      `. The caller already holds lease #${nestedHeld.id} of this pool (acquired at ${siteOrReason(nestedHeld.site, e.leaks.siteContext)}): ` +
      `this is the nested-acquire deadlock; pass the held client down instead of acquiring again`;
  }
  return new AcquireTimeoutError(msg, { pool: e.name, waitedMs, reason, snapshot, nested: nestedHeld !== undefined, cause: failing ? cause : undefined });
}

export function circuitOpenError(pool: string, lastReason: string, retryAfterMs: number, cause: unknown): CircuitOpenError {
  return new CircuitOpenError(
    `lifeguard: pool "${pool}": circuit open after repeated connection failures (last: ${lastReason}); failing fast, next probe in ${retryAfterMs} ms`,
    { pool, retryAfterMs, cause },
  );
}

/** The report of a nested acquire: a warning's text, or with `throw` the error. */
export function nestedAcquireText(pool: string, heldId: number, heldSite: string | undefined, site: string | undefined): string {
  return (
    `lifeguard: pool "${pool}": nested acquire at ${site ?? 'an unrecorded site'} while this async context ` +
    `already holds lease #${heldId} of the same pool (acquired at ${heldSite ?? 'an unrecorded site'}). ` +
    `When every connection is held by such callers, they all wait for each other: the nested-acquire deadlock. ` +
    `Pass the held client down instead of acquiring again.`
  );
}

export function nestedAcquireError(pool: string, heldId: number, heldSite: string | undefined, site: string | undefined): NestedAcquireError {
  return new NestedAcquireError(nestedAcquireText(pool, heldId, heldSite, site), pool, heldSite, site);
}

export function ceilingText(pool: string, detail: string, ceiling: number, max: number): string {
  return (
    `lifeguard: pool "${pool}": the server refused a connection at its connection limit (${detail}); ` +
    `the pool keeps its ${ceiling} working connection${ceiling === 1 ? '' : 's'} (ceiling ${ceiling} of max ${max}) and probes for room`
  );
}

export function ceilingLiftedText(pool: string): string {
  return `lifeguard: pool "${pool}": room again at the server: the connection-limit ceiling is lifted`;
}

/** Sampled capture escalated to every acquisition for `ms`. */
export function escalateText(pool: string, ms: number): string {
  return `lifeguard: pool "${pool}": a leak or timeout had no recorded site; capturing every acquisition stack for ${Math.round(ms / 1000)} s`;
}

export function circuitText(pool: string, from: string, to: string, reason: string): string {
  return `lifeguard: pool "${pool}": circuit ${from} -> ${to}: ${reason}`;
}

export function healthText(pool: string, healthy: boolean, detail: string | undefined): string {
  return `lifeguard: pool "${pool}" is ${healthy ? 'healthy again' : `unhealthy: ${detail ?? ''}`}`;
}

export function leakResolvedText(pool: string, id: number, held: string): string {
  return `lifeguard: pool "${pool}": leaked lease #${id} came back after ${held}`;
}

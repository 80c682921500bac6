/**
 * Issue 17: a PostgreSQL pool behind PgBouncer in transaction mode. Each transaction
 * (each statement outside one) may run on a different server connection, so session
 * state leaks to other clients or vanishes. With `pgbouncer: 'transaction'` the pool
 * refuses, before anything is sent, what breaks there, with `PgBouncerUnsupportedError`
 * (code `PGBOUNCER_UNSUPPORTED`, field `feature`):
 * - `listener()` and `LISTEN` (notifications go to whichever connection listened);
 * - `SET` / `SET SESSION` outside a transaction (use `SET LOCAL` inside one, or set it
 *   on the bouncer's `connect_query` / the role);
 * - named prepared statements (`{ name, text }` queries, SQL `PREPARE`) unless
 *   `preparedStatements: true` (PgBouncer 1.21+ with `max_prepared_statements` > 0
 *   tracks protocol-level ones; SQL `PREPARE` is refused either way);
 * - session advisory locks (`pg_advisory_lock`, `pg_try_advisory_lock`; the `_xact_`
 *   forms are fine).
 * The check runs in each connection's `query` (a regular expression on the start of the
 * text), only in pools with the option: other pools' query path is unchanged.
 */
import type pg from 'pg';
import { PgBouncerUnsupportedError, type PgBouncerFeature } from '../core/errors.js';
import type { OptionChecker } from '../core/options.js';

/** PgBouncer pooling modes lifeguard knows. Only `'transaction'` restricts anything. */
export type PgBouncerMode = 'transaction';

/** The object form of the `pgbouncer` option. */
export interface PgBouncerOptions {
  /** PgBouncer's `pool_mode`. No default. */
  mode: PgBouncerMode;
  /**
   * The bouncer supports protocol-level named prepared statements (PgBouncer 1.21+
   * with `max_prepared_statements` > 0): allow `{ name, text }` queries.
   * @default false
   */
  preparedStatements?: boolean;
}

/** Resolved PgBouncer settings. */
export interface ResolvedBouncer {
  readonly mode: PgBouncerMode;
  readonly preparedStatements: boolean;
}

const KEYS: ReadonlySet<string> = new Set(['mode', 'preparedStatements']);

/** Checks the `pgbouncer` option (`'transaction'`, `{ mode, preparedStatements }` or `false`). */
export function resolveBouncer(c: OptionChecker, value: unknown): ResolvedBouncer | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === 'transaction') return Object.freeze({ mode: 'transaction', preparedStatements: false });
  const o = c.object('pgbouncer', value);
  c.unknownKeys('pgbouncer.', o, KEYS, 'not a pgbouncer option');
  if (o.mode !== 'transaction') c.fail('pgbouncer.mode', "'transaction'", o.mode);
  if (o.preparedStatements !== undefined && typeof o.preparedStatements !== 'boolean') c.fail('pgbouncer.preparedStatements', 'a boolean', o.preparedStatements);
  return Object.freeze({ mode: 'transaction', preparedStatements: o.preparedStatements === true });
}

/** The error for `feature`, naming the pool and what to do instead. */
export function bouncerRefusal(pool: string, feature: PgBouncerFeature, what: string): PgBouncerUnsupportedError {
  const instead: Record<PgBouncerFeature, string> = {
    listen: 'LISTEN needs a session: use a pool that connects to PostgreSQL directly (or a PgBouncer session-mode pool) for listener()',
    'session-set': 'use SET LOCAL inside withTransaction(), or set it for the role / in the bouncer (connect_query)',
    'prepared-statement':
      'PgBouncer 1.21+ with max_prepared_statements > 0 handles protocol-level named statements: then set pgbouncer: { mode: "transaction", preparedStatements: true }; SQL PREPARE is never safe',
    'advisory-lock': 'use pg_advisory_xact_lock() inside a transaction',
    'session-state': 'keep session state inside one transaction',
  };
  return new PgBouncerUnsupportedError(
    `lifeguard: pool "${pool}" (pgbouncer: 'transaction'): ${what} does not work behind PgBouncer in transaction mode, ` +
      `where consecutive statements may run on different server connections; ${instead[feature]}`,
    { pool, feature },
  );
}

const SKIP = /^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/)*/;
const SESSION_SET = /^set\s+(?!local\b|transaction\b|constraints\b|session\s+characteristics\b)/i;
const ADVISORY = /\bpg_(?:try_)?advisory_lock(?:_shared)?\s*\(/i;

/** What `query(args)` would do that transaction pooling breaks; undefined when it is fine. */
export function bouncerProblem(b: ResolvedBouncer, args: readonly unknown[], inTransaction: boolean): { feature: PgBouncerFeature; what: string } | undefined {
  const first = args[0];
  let text: string | undefined;
  if (typeof first === 'string') text = first;
  else if (typeof first === 'object' && first !== null) {
    const q = first as { text?: unknown; name?: unknown };
    if (typeof q.text === 'string') text = q.text;
    if (typeof q.name === 'string' && q.name !== '' && !b.preparedStatements) {
      return { feature: 'prepared-statement', what: `the named prepared statement "${q.name}"` };
    }
  }
  if (text === undefined) return undefined;
  const body = text.slice(SKIP.exec(text)?.[0].length ?? 0);
  const head = body.slice(0, 12).toLowerCase();
  if (head.startsWith('listen') && /^listen\s/i.test(body)) return { feature: 'listen', what: 'LISTEN' };
  if (head.startsWith('prepare') && /^prepare\s/i.test(body)) return { feature: 'prepared-statement', what: 'SQL PREPARE' };
  if (!inTransaction && head.startsWith('set') && SESSION_SET.test(body)) {
    return { feature: 'session-set', what: `a session SET outside a transaction (${body.split(/[;\n]/)[0]!.trim().slice(0, 60)})` };
  }
  if (ADVISORY.test(body)) return { feature: 'advisory-lock', what: 'a session-level advisory lock (pg_advisory_lock)' };
  return undefined;
}

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;

/**
 * Puts the check in front of the connection's `query` (as an own property, so
 * lifeguard's use-after-release guard, installed after it, calls it too). A refused
 * query rejects (or calls back) with the error, as a failed query does, and sends nothing.
 */
export function installBouncerCheck(client: pg.Client, b: ResolvedBouncer, pool: string): void {
  const own = Object.prototype.hasOwnProperty.call(client, 'query') ? (client.query as unknown as QueryFn) : undefined;
  const checked = function (this: pg.Client, ...args: unknown[]): unknown {
    const tx = (this as { getTransactionStatus?(): string | null }).getTransactionStatus?.();
    const problem = bouncerProblem(b, args, tx === 'T' || tx === 'E');
    if (problem !== undefined) {
      const err = bouncerRefusal(pool, problem.feature, problem.what);
      const first = args[0] as { submit?: unknown; emit?(event: string, e: Error): unknown } | null | undefined;
      if (typeof first === 'object' && first !== null && typeof first.submit === 'function' && typeof first.emit === 'function') {
        // a submittable (a Cursor, a QueryStream) reports through its own 'error' event
        const q = first;
        process.nextTick(() => q.emit!('error', err));
        return q;
      }
      const cb = args[args.length - 1];
      if (typeof cb === 'function') {
        process.nextTick(() => (cb as (e: Error) => void)(err));
        return undefined;
      }
      return Promise.reject(err);
    }
    const fn = own ?? (Object.getPrototypeOf(this) as { query: QueryFn }).query;
    return fn.apply(this, args);
  };
  (client as unknown as { query: QueryFn }).query = checked;
}

/**
 * What a pg checkout hands out is the pooled `pg.Client` itself, as pg.Pool does:
 * the same object every checkout and in every event, with whatever `onConnect` or a
 * `'connect'` listener set on it. No wrapper: two things are set on the instance.
 *
 * - Once per connection, an own `query` (the guard) that refuses use after the last
 *   user checkout was released (`LEASE_RELEASED`, naming where it was acquired and
 *   released) and otherwise calls the class's `query`, looked up at call time (so
 *   instrumentation that patches `Client.prototype.query` still sees every query),
 *   and `Symbol.asyncDispose` (`await using client = await pool.connect()`).
 * - Per checkout, `release(err?)`, as pg-pool sets it.
 *
 * The pool's own use of a connection (`pool.query`, validation, reset) calls the
 * unguarded `query`.
 */
import type pg from 'pg';
import type { LeaseHandle } from '../core/driver.js';
import { type LeaseRef, leaseRef, refuseUse, releaseRef } from '../core/lease.js';

/**
 * A checked-out PostgreSQL client: the real `pg.Client` (`instanceof pg.Client`), with
 * `release(err?)`; `release(err)` or `release(true)` closes the connection instead of
 * returning it.
 */
export type PgPoolClient = pg.PoolClient;

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;

interface GuardState {
  /**
   * The record of the last user checkout; once it is released (and until the next),
   * use is refused. The record, not the lease: a lease the user drops must stay
   * collectable, for `lost` leak detection.
   */
  rec: LeaseRef | undefined;
  /** An own `query` the client had before the guard (set by `onConnect`, say). */
  readonly own: QueryFn | undefined;
}

const kGuard = Symbol('lifeguard.pgGuard');

type Guarded = pg.Client & {
  [kGuard]?: GuardState;
  release?: (err?: Error | boolean) => void;
  [Symbol.asyncDispose]?: () => Promise<void>;
};

function guardedQuery(this: Guarded, ...args: unknown[]): unknown {
  const g = this[kGuard];
  if (g !== undefined) {
    const rec = g.rec;
    if (rec !== undefined && rec.released) {
      const cb = args[args.length - 1];
      if (typeof cb !== 'function') refuseUse(rec, 'query on');
      // callback form: the error goes to the callback (asynchronously), as pg reports errors
      let err: unknown;
      try {
        refuseUse(rec, 'query on');
      } catch (e) {
        err = e;
      }
      process.nextTick(cb as (e: unknown) => void, err);
      return undefined;
    }
    if (g.own !== undefined) return g.own.apply(this, args);
  }
  return (Object.getPrototypeOf(this) as { query: QueryFn }).query.apply(this, args);
}

function dispose(this: Guarded): Promise<void> {
  const rec = this[kGuard]?.rec;
  if (rec !== undefined && !rec.released) releaseRef(rec, undefined, dispose);
  return Promise.resolve();
}

/** Installs the use-after-release guard on a new connection (once, after its connect hooks). */
export function installGuard(client: pg.Client): void {
  const c = client as Guarded;
  if (typeof c.query !== 'function') return; // a stand-in client without query()
  const own = Object.prototype.hasOwnProperty.call(c, 'query') ? (c.query as unknown as QueryFn) : undefined;
  c[kGuard] = { rec: undefined, own };
  (c as { query: unknown }).query = guardedQuery;
  if (c[Symbol.asyncDispose] === undefined) c[Symbol.asyncDispose] = dispose;
}

/** The connection's `query` without the guard, for the pool's own use. */
export function rawQuery(client: pg.Client): QueryFn {
  const g = (client as Guarded)[kGuard];
  if (g === undefined) return client.query as unknown as QueryFn;
  return g.own ?? (Object.getPrototypeOf(client) as { query: QueryFn }).query;
}

/**
 * A user checkout: the client remembers the lease's record and gets `release(err?)`
 * for it, a function of this checkout (a second call throws `LEASE_RELEASED`).
 */
export function checkOut(client: pg.Client, lease: LeaseHandle): PgPoolClient {
  const c = client as Guarded;
  const rec = leaseRef(lease);
  const g = c[kGuard];
  if (g !== undefined) g.rec = rec;
  const release = (err?: Error | boolean): void => releaseRef(rec, err === false ? undefined : err, release);
  c.release = release;
  return c as PgPoolClient;
}

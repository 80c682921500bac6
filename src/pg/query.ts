/**
 * `pool.query()` of the pg pool in every pg form (text, config, callback,
 * submittable), pg.Pool's count getters, and how a scoped call's failure is released.
 * Run on the engine directly: one lease per query, released before the caller hears.
 */
import type pg from 'pg';
import type { CorePool } from '../core/pool.js';
import type { ScopedCall } from '../core/scoped.js';
import type { SiteHolder } from '../core/site.js';
import { type PgPoolClient, rawQuery } from './client.js';
import type { PgLease } from './pool.js';

type Callback<T> = (err: Error | undefined, value?: T) => void;
type Core = CorePool<pg.Client, PgPoolClient>;

/** The engine of a pool (set once by {@link installQuery}): a call, no allocation. */
let coreOf: (pool: object) => Core;

/**
 * `pool.query()` in every pg form: `(text)`, `(text, values)`, `(config)`, with or
 * without a callback, or a submittable. Installed on the prototype so the pool keeps
 * pg.Pool's own typed overloads. A callback is called from pg's own callback (no
 * promise in between), so an exception it throws is an uncaught exception, as with
 * pg.Pool.
 */
function query(this: object, text: unknown, values?: unknown, callback?: unknown): unknown {
  const core = coreOf(this);
  if (typeof text === 'function') {
    // pg.Pool's guard: a function where the query belongs
    const err = new Error('Passing a function as the first parameter to pool.query is not supported');
    setImmediate(text as Callback<never>, err);
    return undefined;
  }
  if (typeof values === 'function') {
    callback = values;
    values = undefined;
  }
  if (typeof text === 'object' && text !== null && typeof (text as { submit?: unknown }).submit === 'function') {
    return querySubmittable(core, text as pg.Submittable & NodeJS.EventEmitter, values, core.site(query));
  }
  if (typeof callback === 'function') {
    // nobody awaits the callback form, so it has no async caller to name: capture now
    const site = core.site(query);
    const cb = callback as Callback<pg.QueryResult>;
    const now = core.acquireNow(site);
    if (now !== undefined) {
      // pg.Pool never calls back synchronously: pg's query callback is asynchronous
      run(core, now, text, values, cb);
    } else {
      core.acquire(undefined, site, false).then(
        (l) => run(core, l, text, values, cb),
        (err: Error) => process.nextTick(cb, err),
      );
    }
    return undefined;
  }
  // attributed lazily: nothing is captured unless a report asks (see core/scoped.ts)
  const call = core.scoped<pg.QueryResult>(query);
  const now = core.acquireNow(call);
  if (now !== undefined) runInto(core, now, text, values, call);
  else core.acquire(undefined, call, false).then((l) => runInto(core, l, text, values, call), (err: unknown) => call.reject(err));
  return call.promise;
}

function runInto(core: Core, lease: PgLease, text: unknown, values: unknown, call: ScopedCall<pg.QueryResult>): void {
  run(core, lease, text, values, (err, res) => (err ? call.reject(err) : call.resolve(res!)));
}

/** Runs one query on a lease with pg's callback form and releases the lease before calling back. */
function run(core: Core, lease: PgLease, text: unknown, values: unknown, cb: Callback<pg.QueryResult>): void {
  const client = core.rawOf(lease);
  let sent = false;
  try {
    rawQuery(client).call(client, text, values, (err: Error | null, res: pg.QueryResult) => {
      // close() or a test's reclaim may have forced the lease while the query ran (endLease is then a no-op)
      if (err) {
        // judged by the connection's state (a FATAL, a dead socket), not by the error
        core.endLease(lease, undefined);
        cb(err);
      } else {
        core.endLease(lease, undefined);
        cb(undefined, res);
      }
    });
    sent = true;
  } catch (err) {
    // pg throws at once for a query it cannot send (e.g. `undefined`): the connection is fine
    core.endLease(lease, undefined);
    if (!sent) process.nextTick(cb, err);
  }
}

function querySubmittable(
  core: Core,
  q: pg.Submittable & NodeJS.EventEmitter,
  values: unknown,
  site: SiteHolder | undefined,
): unknown {
  core.acquire(undefined, site, false).then(
    (lease) => {
      let done = false;
      // judged by the connection's state, not by the error
      const finish = (): void => {
        if (done) return;
        done = true;
        core.endLease(lease, undefined);
      };
      q.once('end', finish);
      q.once('error', finish);
      const client = core.rawOf(lease);
      try {
        rawQuery(client).call(client, q, values);
      } catch (err) {
        // refused before anything was sent: the connection is fine, the submittable gets the error
        finish();
        q.emit('error', err);
      }
    },
    (err: unknown) => q.emit('error', err),
  );
  return q;
}

/**
 * Installs `query` and pg.Pool's count getters on the pool's prototype; `engine`
 * reads a pool's engine (the pool class passes it from its static block, where its
 * private field is in scope).
 */
export function installQuery<P extends object>(proto: P, engine: (pool: P) => Core): void {
  coreOf = engine as (pool: object) => Core;
  Object.defineProperty(proto, 'query', { value: query, writable: true, configurable: true });
  // pg.Pool's counts are prototype getters in pg-pool (typed as properties): replace them.
  // As pg.Pool counts: a connection being opened is in totalCount, and its caller is not
  // in waitingCount (only callers beyond the connections on their way are).
  Object.defineProperties(proto, {
    totalCount: {
      get(this: object) {
        const core = coreOf(this);
        return core.total + core.creatingCount;
      },
      configurable: true,
    },
    idleCount: {
      get(this: object) {
        return coreOf(this).idleCount;
      },
      configurable: true,
    },
    waitingCount: {
      get(this: object) {
        const core = coreOf(this);
        return Math.max(0, core.waitingCount - core.preparingCount);
      },
      configurable: true,
    },
    expiredCount: { get() { return 0; }, configurable: true },
    // pg-pool's list of its clients, read by code that reaches into it
    _clients: {
      get(this: object) {
        return coreOf(this).connections();
      },
      set() {},
      configurable: true,
    },
  });
}

/**
 * What a scoped call's release gets when its callback threw: a failed ROLLBACK
 * leaves the connection in an unknown state (close it, report the callback's
 * error); a connection error closes it too.
 */
export function releaseOnError(err: unknown): { release: unknown; error: unknown } {
  if (err instanceof RollbackFailed) return { release: err.rollbackError, error: err.original };
  // otherwise the release judges the connection by its state, never by what was thrown:
  // an application error leaves an idle connection in the pool
  return { release: undefined, error: err };
}

/**
 * Internal: carries a failed ROLLBACK out of the transaction body to
 * {@link releaseOnError}, which unwraps it: the caller gets `original`, never this.
 */
export class RollbackFailed extends Error {
  constructor(
    readonly original: unknown,
    readonly rollbackError: unknown,
  ) {
    super('lifeguard: ROLLBACK failed', { cause: rollbackError });
    this.name = 'RollbackFailed';
  }
}


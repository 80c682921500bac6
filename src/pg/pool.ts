/**
 * `LifeguardPgPool`: a drop-in `pg.Pool` (it is `instanceof pg.Pool` of the
 * application's `pg`) on lifeguard's engine, plus `acquire`, `withConnection`,
 * `withTransaction`, `stats` and `leases`.
 */
import type pg from 'pg';
import { loadPg } from '../core/peer.js';
import { contextStorage } from '../core/context.js';
import { type EventListener, EventHub, type LeaseInfo } from '../core/events.js';
import type { Lease } from '../core/lease.js';
import type { AcquireOptions } from '../core/options.js';
import { CLOSE_GRACE_MS, type CloseResult, CorePool, DEFAULT_CLOSE_TIMEOUT_MS, type PoolStats } from '../core/pool.js';
import type { DestroyReason } from '../core/events.js';
import { poolClosed } from '../core/closed.js';
import { registry } from '../core/registry.js';
import { DedicatedTracker, type DedicatedInfo } from '../core/dedicated.js';
import { PoolClosedError } from '../core/errors.js';
import { safeLog } from '../core/logger.js';
import { describeValue, scrubError } from '../core/redact.js';
import { attachNotifications, type ListenerState, PgListener } from './listener.js';
import { bouncerRefusal } from './bouncer.js';
import { ScopedCall } from '../core/scoped.js';
import type { SiteHolder } from '../core/site.js';
import { type PgPoolClient, rawQuery } from './client.js';
import { PgDriver } from './driver.js';
import { type PgPoolOptions, type ResolvedPgOptions, resolvePgOptions } from './options.js';
import { beginStatement, type TransactionOptions } from './transaction.js';

/** A lease of a PostgreSQL connection: `lease.client` is the pooled `pg.Client` ({@link PgPoolClient}). */
export type PgLease = Lease<pg.Client, PgPoolClient>;

/** pg.Pool's `connect(callback)` callback: `done(err?)` releases the client. */
export type PgConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: Error | boolean) => void) => void;

type Callback<T> = (err: Error | undefined, value?: T) => void;
type ClientClass = new (config: pg.ClientConfig) => pg.Client;

/** pg-pool's debug lines for the removal reasons it has. */
const REMOVE_LOG: Partial<Record<DestroyReason, string>> = {
  'max-uses': 'remove expended client',
  idle: 'remove idle client',
  lifetime: 'remove expired client',
};
type AnyListener = (...args: never[]) => void;
type OnceWrapper = EventListener & { listener?: AnyListener };

/**
 * The base class of LifeguardPgPool: the application's `pg.Pool`, resolved when the
 * first pool is built rather than at import, so `lifeguard` loads without `pg`. Its
 * prototype chain is pointed at `pg.Pool` then, so `instanceof pg.Pool` holds.
 */
const PgPoolBase = function PgPoolBase(this: unknown, ...args: unknown[]): object {
  const { Pool } = loadPg();
  if (Object.getPrototypeOf(PgPoolBase.prototype) !== Pool.prototype) {
    Object.setPrototypeOf(PgPoolBase.prototype, Pool.prototype);
    Object.setPrototypeOf(PgPoolBase, Pool);
  }
  return Reflect.construct(Pool, args, new.target as unknown as new (...a: unknown[]) => object) as object;
} as unknown as typeof pg.Pool;

/** A PostgreSQL pool: `pg.Pool`'s API on lifeguard's engine. */
export class LifeguardPgPool extends PgPoolBase {
  readonly #core: CorePool<pg.Client, PgPoolClient>;
  readonly #hub: EventHub;
  readonly #opts: ResolvedPgOptions;
  readonly #driver: PgDriver;
  readonly #tracker: DedicatedTracker;
  #ended = false;
  /** A user checkout through `connect()`: the client, with no garbage-collection tracking (the pool holds the client). One per pool, not per call. */
  readonly #checkedOut = (lease: PgLease): pg.PoolClient => {
    this.#core.untrack(lease);
    return lease.client;
  };
  #closed: Promise<CloseResult> | undefined;

  /**
   * Use `createPgPool()` or `getPoolManager().pg()`; `new LifeguardPgPool(options, Client)`
   * takes pg.Pool's arguments (the `Client` option wins over the second argument).
   */
  constructor(options: PgPoolOptions = {}, Client?: ClientClass) {
    const opts = resolvePgOptions(options);
    // pg.Pool's own constructor: `this.options` (a copy, password hidden), `this.Client`
    super(options as pg.PoolConfig);
    this.#opts = opts;
    const c = opts.common;
    const shown = this.options as unknown as Record<string, unknown>;
    // what lifeguard does, in pg.Pool's terms
    shown.max = c.max;
    shown.min = c.min;
    shown.idleTimeoutMillis = c.idleTimeoutMs;
    shown.maxUses = c.maxUses > 0 ? c.maxUses : Infinity;
    shown.maxLifetimeSeconds = c.maxLifetimeMs / 1000;
    shown.allowExitOnIdle = opts.allowExitOnIdle;
    delete shown.poolSize;
    if (typeof shown.connectionString === 'string' && opts.secrets.length > 0) {
      Object.defineProperty(shown, 'connectionString', { enumerable: false });
    }
    // pg's Pool binds pg.Client and drops a second argument: take it here, as pg-pool does
    const self = this as unknown as { Client: ClientClass };
    if (opts.Client === undefined && Client !== undefined) self.Client = Client;
    const ClientClass = self.Client;
    this.#driver = new PgDriver(opts, ClientClass);
    this.#hub = new EventHub(registry.hub, c.logger);
    this.#tracker = undefined as unknown as DedicatedTracker;
    const driver = this.#driver;
    const log = opts.log;
    this.#core = new CorePool(
      this.#driver,
      c,
      this.#hub,
      {
        onConnect: (client) => {
          if (this.#has('connect')) this.emit('connect', client);
        },
        onAcquire: (client) => {
          driver.setActive(client, true);
          if (this.#has('acquire')) this.emit('acquire', client);
        },
        onRelease: (err, client) => {
          driver.setActive(client, false);
          if (this.#has('release')) this.emit('release', err, client);
        },
        onRemove: (client, reason) => {
          if (log !== undefined) {
            const line = REMOVE_LOG[reason];
            if (line !== undefined) log(line);
          }
          if (this.#has('remove')) this.emit('remove', client);
        },
        onError: (err, client, idle) => {
          // pg.Pool: 'error' for an idle client only (one in use errors to its user), with
          // err.client; with no listener, pg.Pool crashes the process, lifeguard never does.
          if (!idle) return;
          (err as Error & { client?: pg.Client }).client = client;
          if (this.#has('error')) this.emit('error', err, client);
        },
      },
      { openMin: false },
    );
    this.#tracker = new DedicatedTracker(this.#core as unknown as CorePool<never, never>);
    Object.defineProperty(this, 'ending', { get: () => this.#core.closing, configurable: true });
    Object.defineProperty(this, 'ended', { get: () => this.#ended, configurable: true });
    registry.pools.add(this);
  }

  /** EventEmitter listeners for a pg.Pool event, without a call per check. */
  #has(event: string): boolean {
    return (this as unknown as { _events: Record<string, unknown> })._events[event] !== undefined;
  }

  /** The pool's name. */
  get name(): string {
    return this.#core.name;
  }

  /** Where the pool connects, with any password masked. */
  get target(): string {
    return this.#opts.target;
  }

  /** The `app` option: the first part of the server-side connection names. */
  get app(): string {
    return this.#opts.common.app;
  }

  /** @internal the engine, for the pg.Pool count getters. */
  get _core(): CorePool<pg.Client, PgPoolClient> {
    return this.#core;
  }

  // ---- pg.Pool API ----------------------------------------------------------------

  /**
   * Checks out a client: the pooled `pg.Client` itself (the same object every
   * checkout, the one the events carry), with `release(err?)`; call it when done
   * (pg.Pool's API). The callback is called asynchronously, outside any promise, so
   * an exception it throws is an uncaught exception, as with pg.Pool.
   */
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: PgConnectCallback): void;
  override connect(callback?: PgConnectCallback): Promise<pg.PoolClient> | void {
    const site = this.#core.site(LifeguardPgPool.prototype.connect);
    const p = this.#core.acquire(undefined, site, true).then(this.#checkedOut);
    if (callback === undefined) return p;
    p.then(
      (client) => process.nextTick(callback, undefined, client, client.release),
      (err: Error) => process.nextTick(callback, err, undefined, noop),
    );
  }

  /**
   * pg.Pool's `end()`: no new checkouts (they fail with `POOL_CLOSED`); callers already
   * waiting are still served and clients out are waited for, however long they take;
   * then every connection is closed. A second call fails. `close({ timeoutMs })` is
   * lifeguard's bounded form.
   */
  override end(): Promise<void>;
  override end(callback: (err?: Error) => void): void;
  override end(callback?: (err?: Error) => void): Promise<void> | void {
    this.#opts.log?.('ending');
    let p: Promise<void>;
    if (this.#core.closing) {
      p = Promise.reject(new PoolClosedError(this.name, 'Called end on pool more than once'));
    } else {
      p = this.#core.close({ timeoutMs: Infinity, serveWaiters: true }).then(async () => {
        await this.#afterClose(this.#opts.common.connectTimeoutMs);
      });
    }
    if (callback === undefined) return p;
    p.then(
      () => process.nextTick(callback),
      (err: Error) => process.nextTick(callback, err),
    );
  }

  // ---- lifeguard API ---------------------------------------------------------------

  /** Checks out a connection as a lease: `lease.client`, then `lease.release()` (or `await using`). */
  acquire(opts?: AcquireOptions): Promise<PgLease> {
    return this.#core.acquire(opts, this.#core.site(LifeguardPgPool.prototype.acquire), true);
  }

  /**
   * Runs `fn` with a connection and always releases it, also when `fn` throws; a
   * connection whose state is unknown afterwards is closed, one left in a
   * transaction is rolled back. Attributed lazily: a report names the line that
   * awaited this call, at no per-call cost.
   */
  withConnection<T>(fn: (client: PgPoolClient) => Promise<T> | T, opts?: AcquireOptions): Promise<T> {
    const call = this.#core.scoped<T>(LifeguardPgPool.prototype.withConnection);
    void this.#core.runScoped(call, opts, fn, releaseOnError);
    return call.promise;
  }

  /**
   * Runs `fn` in a transaction: `BEGIN` (with the options), `COMMIT` on success,
   * `ROLLBACK` when `fn` throws; the connection is closed if `ROLLBACK` fails.
   * Attributed lazily, like `withConnection`.
   */
  withTransaction<T>(fn: (client: PgPoolClient) => Promise<T> | T, opts?: TransactionOptions & AcquireOptions): Promise<T> {
    const call = this.#core.scoped<T>(LifeguardPgPool.prototype.withTransaction);
    let begin: string;
    try {
      begin = beginStatement(this.#core.name, opts);
    } catch (err) {
      call.reject(err);
      return call.promise;
    }
    void this.#core.runScoped(call, opts, async (client) => {
      await client.query(begin);
      let result: T;
      try {
        result = await fn(client);
      } catch (err) {
        let status: string | null;
        try {
          // pg < 8.21 has no getTransactionStatus(): roll back to be sure (harmless when idle)
          status = typeof client.getTransactionStatus === 'function' ? client.getTransactionStatus() : 'T';
        } catch {
          throw err; // the connection died under the lease: nothing left to roll back
        }
        if (status !== 'I') {
          try {
            await client.query('ROLLBACK');
          } catch (rollbackErr) {
            throw new RollbackFailed(err, rollbackErr);
          }
        }
        throw err;
      }
      await client.query('COMMIT');
      return result;
    }, releaseOnError);
    return call.promise;
  }

  /**
   * Opens a LISTEN/NOTIFY connection inside the pool's budget (waiting up to
   * `timeoutMs`, default `acquireTimeoutMs`). Close it when done; one dropped without
   * close() is closed and reported (`subscriber-lost`).
   */
  async listener(opts?: { timeoutMs?: number; tag?: string }): Promise<PgListener> {
    const site = this.#core.longLivedSite(LifeguardPgPool.prototype.listener);
    if (this.#core.closing) throw new PoolClosedError(this.name);
    // issue 17: LISTEN needs a session, which PgBouncer's transaction mode does not keep
    if (this.#opts.pgbouncer) throw bouncerRefusal(this.name, 'listen', 'listener()');
    const tag = opts?.tag ?? contextStorage.getStore()?.tag;
    await this.#tracker.reserve('listener', opts?.timeoutMs ?? this.#opts.common.acquireTimeoutMs, 'listener');
    let client: pg.Client;
    try {
      client = await this.#driver.create();
    } catch (err) {
      this.#core.budget.give('listener');
      // the server's connection limit: a lifeguard error that names it
      if (this.#driver.isLimitError(err)) throw this.#tracker.limitError('listener', err);
      throw err;
    }
    if (this.#core.closing) {
      // close() ran while it was opened: its closeAll() did not see this one
      await this.#driver.destroy(client);
      this.#core.budget.give('listener');
      throw new PoolClosedError(this.name);
    }
    const driver = this.#driver;
    const core = this.#core;
    const conn = { client };
    const state: ListenerState = {
      ...this.#tracker.newState('listener', site, tag, () => driver.destroy(conn.client)),
      handlers: new Map(),
      conn,
    };
    const onHandlerError = (err: unknown): void =>
      safeLog(this.#opts.common.logger, 'error', `lifeguard: pool "${this.name}": listener #${state.id} handler threw: ${describeValue(err)}`);
    const watch = (c: pg.Client): void => {
      c.on('error', (err: Error) => {
        // a listener connection that broke: reconnecting handles it (not a failure to connect)
        scrubError(err, this.#opts.secrets);
        if (this.#hub.active) this.#hub.emit({ type: 'error', pool: this.name, driver: 'pg', time: Date.now(), error: err, connectionId: undefined });
      });
      c.once('end', () => void reconnect(1));
      attachNotifications(c, state, onHandlerError);
    };
    // The connection dropped: open another (same budget permit) and LISTEN again.
    const reconnect = async (attempt: number): Promise<void> => {
      if (state.closed || core.closing) return;
      const delayMs = core.retryStrategy(attempt);
      if (delayMs === null) {
        safeLog(this.#opts.common.logger, 'error', `lifeguard: pool "${this.name}": listener #${state.id} gave up reconnecting`);
        void this.#tracker.close(state, 'listener');
        return;
      }
      await new Promise<void>((r) => setTimeout(r, delayMs).unref());
      if (state.closed) return;
      let next: pg.Client | undefined;
      try {
        next = await driver.create();
        for (const ch of state.channels) await next.query(`LISTEN ${next.escapeIdentifier(ch)}`);
      } catch (err) {
        if (next !== undefined) void driver.destroy(next); // opened, but LISTEN failed
        else core.connectionFailure(err instanceof Error ? err.message : String(err));
        return reconnect(attempt + 1);
      }
      if (state.closed) {
        void driver.destroy(next);
        return;
      }
      conn.client = next;
      watch(next);
      if (this.#hub.active) {
        this.#hub.emit({ type: 'resubscribe', pool: this.name, driver: 'pg', time: Date.now(), connection: 'listener', id: state.id, channels: [...state.channels], patterns: [] });
      }
    };
    watch(client);
    const handle = new PgListener(state, this.#tracker);
    this.#tracker.track(handle, state);
    return handle;
  }

  /**
   * With no argument: live listener connections (id, channels, creation site, age,
   * last notification time). With an event name: EventEmitter's `listeners()`.
   */
  override listeners(eventName: string | symbol): ReturnType<pg.Pool['listeners']>;
  override listeners(): DedicatedInfo[];
  override listeners(eventName?: string | symbol): ReturnType<pg.Pool['listeners']> | DedicatedInfo[] {
    if (eventName === undefined) return this.#tracker.list();
    return super.listeners(eventName as 'error');
  }

  /** Counters, budget and wait/hold percentiles. */
  stats(): PoolStats {
    return this.#core.stats();
  }

  /** Outstanding leases and listeners, oldest first: id, age, tag, acquisition site. */
  leases(): LeaseInfo[] {
    return [...this.#core.leases(), ...this.#tracker.list()].sort((a, b) => b.ageMs - a.ageMs);
  }

  /**
   * Closes the pool: new acquires fail with `POOL_CLOSED`, waiters are rejected,
   * leases get `timeoutMs` (default 10 s) to come back, then are forced and reported.
   */
  close(opts?: { timeoutMs?: number }): Promise<CloseResult> {
    const timeoutMs = opts?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    if (this.#closed !== undefined) {
      // concurrent and repeated calls share one close; a finite timeout bounds one still draining
      if (timeoutMs !== Infinity) this.#core.close({ timeoutMs }).catch(noop);
      return this.#closed;
    }
    return (this.#closed = (async () => {
      const deadline = performance.now() + timeoutMs;
      const result = await this.#core.close({ timeoutMs }).catch((err: unknown) => {
        this.#closed = undefined; // a bad timeoutMs: the pool is not closing
        throw err;
      });
      const left = timeoutMs === Infinity ? this.#opts.common.connectTimeoutMs : Math.max(CLOSE_GRACE_MS, Math.round(deadline - performance.now()));
      const open = await this.#afterClose(left);
      return { forced: [...result.forced, ...open] };
    })());
  }

  /** Closes the listeners (within `timeoutMs`) and forgets the pool. */
  async #afterClose(timeoutMs: number): Promise<LeaseInfo[]> {
    const open = await this.#tracker.closeAll(timeoutMs);
    this.#ended = true;
    registry.pools.delete(this);
    poolClosed(this);
    return open;
  }

  /** @internal forces outstanding leases back (lifeguard/vitest after a leak). */
  reclaim(note: string): LeaseInfo[] {
    const open = this.#tracker.list();
    void this.#tracker.closeAll();
    return [...this.#core.reclaim(note), ...open];
  }

  // ---- the lifeguard event stream on 'event' -------------------------------------

  override on(event: 'event', listener: EventListener): this;
  override on(event: string | symbol, listener: AnyListener): this;
  override on(event: string | symbol, listener: AnyListener): this {
    if (event === 'event') {
      this.#hub.add(listener as EventListener);
      return this;
    }
    return (super.on as (e: string | symbol, l: AnyListener) => this)(event, listener);
  }
  override addListener(event: 'event', listener: EventListener): this;
  override addListener(event: string | symbol, listener: AnyListener): this;
  override addListener(event: string | symbol, listener: AnyListener): this {
    return this.on(event, listener);
  }
  override once(event: 'event', listener: EventListener): this;
  override once(event: string | symbol, listener: AnyListener): this;
  override once(event: string | symbol, listener: AnyListener): this {
    if (event === 'event') {
      const wrapper: OnceWrapper = (e) => {
        this.#hub.remove(wrapper);
        (listener as EventListener)(e);
      };
      wrapper.listener = listener;
      this.#hub.add(wrapper);
      return this;
    }
    return (super.once as (e: string | symbol, l: AnyListener) => this)(event, listener);
  }
  override off(event: 'event', listener: EventListener): this;
  override off(event: string | symbol, listener: AnyListener): this;
  override off(event: string | symbol, listener: AnyListener): this {
    if (event === 'event') {
      this.#hub.remove(listener as EventListener);
      return this;
    }
    return (super.off as (e: string | symbol, l: AnyListener) => this)(event, listener);
  }
  override removeListener(event: 'event', listener: EventListener): this;
  override removeListener(event: string | symbol, listener: AnyListener): this;
  override removeListener(event: string | symbol, listener: AnyListener): this {
    return this.off(event, listener);
  }
  override removeAllListeners(event?: string | symbol): this {
    if (event === undefined || event === 'event') this.#hub.clear();
    if (event === 'event') return this;
    return super.removeAllListeners(event);
  }
  override listenerCount(event: string | symbol, listener?: AnyListener): number {
    if (event === 'event') return this.#hub.count;
    return (super.listenerCount as (e: string | symbol, l?: AnyListener) => number)(event, listener);
  }
}

/**
 * `pool.query()` in every pg form: `(text)`, `(text, values)`, `(config)`, with or
 * without a callback, or a submittable. Installed on the prototype so the pool keeps
 * pg.Pool's own typed overloads. A callback is called from pg's own callback (no
 * promise in between), so an exception it throws is an uncaught exception, as with
 * pg.Pool.
 */
function query(this: LifeguardPgPool, text: unknown, values?: unknown, callback?: unknown): unknown {
  const core = this._core;
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

function runInto(core: CorePool<pg.Client, PgPoolClient>, lease: PgLease, text: unknown, values: unknown, call: ScopedCall<pg.QueryResult>): void {
  run(core, lease, text, values, (err, res) => (err ? call.reject(err) : call.resolve(res!)));
}

/** Runs one query on a lease with pg's callback form and releases the lease before calling back. */
function run(core: CorePool<pg.Client, PgPoolClient>, lease: PgLease, text: unknown, values: unknown, cb: Callback<pg.QueryResult>): void {
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
  core: CorePool<pg.Client, PgPoolClient>,
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

Object.defineProperty(LifeguardPgPool.prototype, 'query', { value: query, writable: true, configurable: true });

// pg.Pool's counts are prototype getters in pg-pool (typed as properties): replace them.
// As pg.Pool counts: a connection being opened is in totalCount, and its caller is not
// in waitingCount (only callers beyond the connections on their way are).
Object.defineProperties(LifeguardPgPool.prototype, {
  totalCount: { get(this: LifeguardPgPool) { return this._core.total + this._core.creatingCount; }, configurable: true },
  idleCount: { get(this: LifeguardPgPool) { return this._core.idleCount; }, configurable: true },
  waitingCount: {
    get(this: LifeguardPgPool) {
      const core = this._core;
      return Math.max(0, core.waitingCount - core.preparingCount);
    },
    configurable: true,
  },
  expiredCount: { get() { return 0; }, configurable: true },
  // pg-pool's list of its clients, read by code that reaches into it
  _clients: { get(this: LifeguardPgPool) { return this._core.connections(); }, set() {}, configurable: true },
});

/**
 * What a scoped call's release gets when its callback threw: a failed ROLLBACK
 * leaves the connection in an unknown state (close it, report the callback's
 * error); a connection error closes it too.
 */
function releaseOnError(err: unknown): { release: unknown; error: unknown } {
  if (err instanceof RollbackFailed) return { release: err.rollbackError, error: err.original };
  // otherwise the release judges the connection by its state, never by what was thrown:
  // an application error leaves an idle connection in the pool
  return { release: undefined, error: err };
}

/** @internal carries a failed ROLLBACK out of the transaction body. */
class RollbackFailed {
  constructor(
    readonly original: unknown,
    readonly rollbackError: unknown,
  ) {}
}

function noop(): void {}

/** Creates a PostgreSQL pool that is also a `pg.Pool`. */
export function createPgPool(options: PgPoolOptions = {}): LifeguardPgPool {
  return new LifeguardPgPool(options);
}

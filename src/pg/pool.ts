/**
 * `LifeguardPgPool`: a drop-in `pg.Pool` (it is `instanceof pg.Pool` of the
 * application's `pg`) on lifeguard's engine, plus `acquire`, `withConnection`,
 * `withTransaction`, `stats` and `leases`.
 */
import type pg from 'pg';
import type { EventListener, LeaseInfo } from '../core/events.js';
import { EVENT_BIT, emitterListenerCount, PG_EVENTS, type PgEvent, PgPoolBase, REMOVE_LOG } from './base.js';
import type { Lease } from '../core/lease.js';
import type { AcquireOptions } from '../core/options.js';
import { type CloseResult, CorePool, type PoolStats } from '../core/pool.js';
import type { DedicatedInfo } from '../core/dedicated.js';
import { PoolClosedError } from '../core/errors.js';
import { defineIdentity, PoolShell } from '../core/shell.js';
import { type ListenerContext, openListener, type PgListener } from './listener.js';
import { bouncerRefusal } from './bouncer.js';
import type { PgPoolClient } from './client.js';
import { PgDriver } from './driver.js';
import { type PgPoolOptions, type ResolvedPgOptions, resolvePgOptions } from './options.js';
import { installQuery, releaseOnError, RollbackFailed } from './query.js';
import { beginStatement, type TransactionOptions } from './transaction.js';

/** A lease of a PostgreSQL connection: `lease.client` is the pooled `pg.Client` ({@link PgPoolClient}). */
export type PgLease = Lease<pg.Client, PgPoolClient>;

/** pg.Pool's `connect(callback)` callback: `done(err?)` releases the client. */
export type PgConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: Error | boolean) => void) => void;

type ClientClass = new (config: pg.ClientConfig) => pg.Client;

type AnyListener = (...args: never[]) => void;

/** A PostgreSQL pool: `pg.Pool`'s API on lifeguard's engine. */
export class LifeguardPgPool extends PgPoolBase {
  readonly #shell: PoolShell<pg.Client, PgPoolClient>;
  readonly #core: CorePool<pg.Client, PgPoolClient>;
  readonly #opts: ResolvedPgOptions;
  /** What opening a listener needs of this pool. */
  readonly #listening: ListenerContext;
  /** Which pg.Pool events have listeners (bits of EVENT_BIT). */
  #listened = 0;
  /** A user checkout through `connect()`: the client, with no garbage-collection tracking (the pool holds the client). One per pool, not per call. */
  readonly #checkedOut = (lease: PgLease): pg.PoolClient => {
    this.#core.untrack(lease);
    return lease.client;
  };

  static {
    // pool.query and pg.Pool's count getters, on the prototype (they reach the engine here, where #core is in scope)
    installQuery(LifeguardPgPool.prototype, (pool) => pool.#core);
    defineIdentity(LifeguardPgPool.prototype, (pool) => pool.#shell);
  }

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
    const driver = new PgDriver(opts, ClientClass);
    const log = opts.log;
    const shellOptions = { driver: 'pg', logger: c.logger, connectTimeoutMs: c.connectTimeoutMs, secrets: opts.secrets, label: 'pool', target: opts.target, app: c.app } as const;
    this.#shell = new PoolShell(this, shellOptions, (hub) => new CorePool(
      driver,
      c,
      hub,
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
    ));
    this.#core = this.#shell.core;
    this.#listening = {
      shell: this.#shell,
      driver,
      acquireTimeoutMs: c.acquireTimeoutMs,
      // issue 17: LISTEN needs a session, which PgBouncer's transaction mode does not keep
      refuse: () => {
        if (opts.pgbouncer) throw bouncerRefusal(this.name, 'listen', 'listener()');
      },
    };
    Object.defineProperty(this, 'ending', { get: () => this.#core.closing, configurable: true });
    Object.defineProperty(this, 'ended', { get: () => this.#shell.ended, configurable: true });
    this.#sync(undefined); // listeners added while pg.Pool's constructor ran
    this.#shell.register();
  }

  /**
   * Whether a pg.Pool event has listeners: a bit per event, kept by the listener
   * methods below, so the hot path reads one field instead of counting listeners.
   */
  #has(event: PgEvent): boolean {
    return (this.#listened & EVENT_BIT[event]) !== 0;
  }

  /** Updates the bit of `event` (any event: all of them) after listeners were added or removed. */
  #sync(event: string | symbol | undefined): void {
    for (const e of PG_EVENTS) {
      if (event !== undefined && event !== e) continue;
      if (emitterListenerCount.call(this, e) > 0) this.#listened |= EVENT_BIT[e];
      else this.#listened &= ~EVENT_BIT[e];
    }
  }

  /** The pool's name. */
  declare readonly name: string;
  /** Where the pool connects, with any password masked. */
  declare readonly target: string;
  /** The `app` option: the first part of the server-side connection names. */
  declare readonly app: string;

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
      const connectTimeoutMs = this.#opts.common.connectTimeoutMs;
      p = this.#core.close({ timeoutMs: Infinity, serveWaiters: true }).then(async () => {
        await this.#shell.finish(() => connectTimeoutMs);
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
    return this.#shell.withConnection(LifeguardPgPool.prototype.withConnection, fn, opts, releaseOnError);
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
    void this.#shell.runScoped(call, opts, async (client) => {
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
    return openListener(this.#listening, site, opts);
  }

  /**
   * With no argument: live listener connections (id, channels, creation site, age,
   * last notification time). With an event name: EventEmitter's `listeners()`.
   */
  override listeners(eventName: string | symbol): ReturnType<pg.Pool['listeners']>;
  override listeners(): DedicatedInfo[];
  override listeners(eventName?: string | symbol): ReturnType<pg.Pool['listeners']> | DedicatedInfo[] {
    if (eventName === undefined) return this.#shell.tracker.list();
    return super.listeners(eventName as 'error');
  }

  /** Counters, budget and wait/hold percentiles. */
  stats(): PoolStats {
    return this.#shell.stats();
  }

  /** Outstanding leases and listeners, oldest first: id, age, tag, acquisition site. */
  leases(): LeaseInfo[] {
    return this.#shell.leases();
  }

  /**
   * Closes the pool: new acquires fail with `POOL_CLOSED`, waiters are rejected,
   * leases get `timeoutMs` (default 10 s) to come back, then are forced and reported;
   * then the listeners are closed, within the same deadline.
   */
  close(opts?: { timeoutMs?: number }): Promise<CloseResult> {
    return this.#shell.close(opts?.timeoutMs);
  }

  /** @internal forces outstanding leases back (lifeguard/vitest after a leak). */
  reclaim(note: string): LeaseInfo[] {
    return this.#shell.reclaim(note);
  }

  // ---- the lifeguard event stream on 'event' -------------------------------------

  override on(event: 'event', listener: EventListener): this;
  override on(event: string | symbol, listener: AnyListener): this;
  override on(event: string | symbol, listener: AnyListener): this {
    if (event === 'event') {
      this.#shell.on(listener as EventListener);
      return this;
    }
    (super.on as (e: string | symbol, l: AnyListener) => this)(event, listener);
    this.#sync(event);
    return this;
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
      this.#shell.once(listener as EventListener);
      return this;
    }
    return (super.once as (e: string | symbol, l: AnyListener) => this)(event, listener);
  }
  override off(event: 'event', listener: EventListener): this;
  override off(event: string | symbol, listener: AnyListener): this;
  override off(event: string | symbol, listener: AnyListener): this {
    if (event === 'event') {
      this.#shell.off(listener as EventListener);
      return this;
    }
    (super.off as (e: string | symbol, l: AnyListener) => this)(event, listener);
    this.#sync(event);
    return this;
  }
  override removeListener(event: 'event', listener: EventListener): this;
  override removeListener(event: string | symbol, listener: AnyListener): this;
  override removeListener(event: string | symbol, listener: AnyListener): this {
    return this.off(event, listener);
  }
  override removeAllListeners(event?: string | symbol): this {
    if (event === undefined || event === 'event') this.#shell.hub.clear();
    if (event === 'event') return this;
    // EventEmitter removes every event's listeners only when called with no argument at all
    if (event === undefined) super.removeAllListeners();
    else super.removeAllListeners(event);
    this.#sync(event);
    return this;
  }
  override prependListener(event: string | symbol, listener: AnyListener): this {
    if (event === 'event') return this.on(event, listener);
    (super.prependListener as (e: string | symbol, l: AnyListener) => this)(event, listener);
    this.#sync(event);
    return this;
  }
  override prependOnceListener(event: string | symbol, listener: AnyListener): this {
    if (event === 'event') return this.once(event, listener);
    (super.prependOnceListener as (e: string | symbol, l: AnyListener) => this)(event, listener);
    this.#sync(event);
    return this;
  }
  override listenerCount(event: string | symbol, listener?: AnyListener): number {
    if (event === 'event') return this.#shell.hub.count;
    return (super.listenerCount as (e: string | symbol, l?: AnyListener) => number)(event, listener);
  }
}

function noop(): void {}

/** Creates a PostgreSQL pool that is also a `pg.Pool`. */
export function createPgPool(options: PgPoolOptions = {}): LifeguardPgPool {
  return new LifeguardPgPool(options);
}

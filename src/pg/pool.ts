/**
 * `LifeguardPgPool`: a drop-in `pg.Pool` (it is `instanceof pg.Pool` of the
 * application's `pg`) on lifeguard's engine, plus `acquire`, `withConnection`,
 * `withTransaction`, `stats` and `leases`.
 */
import type pg from 'pg';
import { loadPg } from '../core/peer.js';
import { contextStorage } from '../core/context.js';
import { type EventListener, EventHub, type LeaseInfo } from '../core/events.js';
import { Lease, kEnd, kRecord } from '../core/lease.js';
import type { AcquireOptions } from '../core/options.js';
import { type CloseResult, CorePool, DEFAULT_CLOSE_TIMEOUT_MS, type PoolStats } from '../core/pool.js';
import { registry } from '../core/registry.js';
import { DedicatedTracker, type DedicatedInfo } from '../core/dedicated.js';
import { PoolClosedError } from '../core/errors.js';
import { safeLog } from '../core/logger.js';
import { attachNotifications, type ListenerState, PgListener } from './listener.js';
import type { SiteHolder } from '../core/site.js';
import { PgPoolClient } from './client.js';
import { PgDriver } from './driver.js';
import { type PgPoolOptions, type ResolvedPgOptions, resolvePgOptions } from './options.js';
import { beginStatement, type TransactionOptions } from './transaction.js';

/** A lease of a PostgreSQL connection: `lease.client` is a {@link PgPoolClient}. */
export type PgLease = Lease<pg.Client, PgPoolClient>;

type Callback<T> = (err: Error | undefined, value?: T) => void;
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

  /** Use `createPgPool()` or `getPoolManager().pg()`. */
  constructor(options: PgPoolOptions = {}) {
    const opts = resolvePgOptions(options);
    // pg.Pool keeps its own copy of the options: give it nothing secret.
    super({ max: opts.common.max, min: opts.common.min, idleTimeoutMillis: opts.common.idleTimeoutMs });
    this.#opts = opts;
    const ClientClass = opts.Client ?? (this as unknown as { Client: new (c: pg.ClientConfig) => pg.Client }).Client;
    this.#driver = new PgDriver(opts, ClientClass);
    this.#hub = new EventHub(registry.hub, opts.common.logger);
    this.#tracker = undefined as unknown as DedicatedTracker;
    const driver = this.#driver;
    this.#core = new CorePool(this.#driver, opts.common, this.#hub, {
      onConnect: (c) => {
        if (this.#has('connect')) this.emit('connect', c);
      },
      onAcquire: (c, lease) => {
        driver.setActive(c, true);
        if (this.#has('acquire')) this.emit('acquire', lease.client);
      },
      onRelease: (err, c) => {
        driver.setActive(c, false);
        if (this.#has('release')) this.emit('release', err, c);
      },
      onRemove: (c) => {
        if (this.#has('remove')) this.emit('remove', c);
      },
      onError: (err, c) => {
        // pg.Pool crashes the process when nobody listens; lifeguard never does.
        if (this.#has('error')) this.emit('error', err, c);
      },
    });
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

  /** @internal the engine, for the pg.Pool count getters. */
  get _core(): CorePool<pg.Client, PgPoolClient> {
    return this.#core;
  }

  // ---- pg.Pool API ----------------------------------------------------------------

  /** Checks out a client; call `client.release()` when done (pg.Pool's API). */
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(
    callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void,
  ): Promise<pg.PoolClient> | void {
    const site = this.#core.site(LifeguardPgPool.prototype.connect);
    const p = this.#core.acquire(undefined, site, true).then((lease) => lease.client as unknown as pg.PoolClient);
    if (callback === undefined) return p;
    p.then(
      (client) => callback(undefined, client, (err) => (client as unknown as PgPoolClient).release(err as Error | undefined)),
      (err: Error) => callback(err, undefined, noop),
    );
  }

  /** Closes the pool: waits for leases (10 s), then forces the rest. pg.Pool's `end()`. */
  override end(): Promise<void>;
  override end(callback: () => void): void;
  override end(callback?: () => void): Promise<void> | void {
    const p = this.close().then(() => undefined);
    if (callback === undefined) return p;
    void p.then(callback, callback);
  }

  // ---- lifeguard API ---------------------------------------------------------------

  /** Checks out a connection as a lease: `lease.client`, then `lease.release()` (or `await using`). */
  acquire(opts?: AcquireOptions): Promise<PgLease> {
    return this.#core.acquire(opts, this.#core.site(LifeguardPgPool.prototype.acquire), true);
  }

  /**
   * Runs `fn` with a connection and always releases it, also when `fn` throws; a
   * connection whose state is unknown afterwards is closed, one left in a
   * transaction is rolled back.
   */
  withConnection<T>(fn: (client: PgPoolClient) => Promise<T> | T, opts?: AcquireOptions): Promise<T> {
    return this.#withLease(this.#core.site(LifeguardPgPool.prototype.withConnection), opts, fn);
  }

  /**
   * Runs `fn` in a transaction: `BEGIN` (with the options), `COMMIT` on success,
   * `ROLLBACK` when `fn` throws; the connection is closed if `ROLLBACK` fails.
   */
  withTransaction<T>(fn: (client: PgPoolClient) => Promise<T> | T, opts?: TransactionOptions & AcquireOptions): Promise<T> {
    const site = this.#core.site(LifeguardPgPool.prototype.withTransaction);
    let begin: string;
    try {
      begin = beginStatement(this.#core.name, opts);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#withLease(site, opts, async (client) => {
      await client.query(begin);
      let result: T;
      try {
        result = await fn(client);
      } catch (err) {
        let status: string | null;
        try {
          status = client.getTransactionStatus();
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
    });
  }

  async #withLease<T>(
    site: SiteHolder | undefined,
    opts: AcquireOptions | undefined,
    fn: (client: PgPoolClient) => Promise<T> | T,
  ): Promise<T> {
    const lease = await this.#core.acquire(opts, site, false);
    const rec = lease[kRecord];
    const client = lease.client;
    let result: T;
    try {
      result = await this.#core.holding(lease, fn, client);
    } catch (err) {
      const failedRollback = err instanceof RollbackFailed;
      // A failed ROLLBACK leaves the connection in an unknown state: close it. Otherwise the
      // release judges the connection by its state, never by what was thrown: an application
      // error leaves an idle connection in the pool, a pending query or open transaction is reset.
      if (!rec.released) lease[kEnd](failedRollback ? err.rollbackError : undefined);
      throw failedRollback ? err.original : err;
    }
    if (!rec.released) lease[kEnd](undefined);
    return result;
  }

  /**
   * Opens a LISTEN/NOTIFY connection inside the pool's budget (waiting up to
   * `timeoutMs`, default `acquireTimeoutMs`). Close it when done; one dropped without
   * close() is closed and reported (`subscriber-lost`).
   */
  async listener(opts?: { timeoutMs?: number; tag?: string }): Promise<PgListener> {
    const site = this.#core.longLivedSite(LifeguardPgPool.prototype.listener);
    if (this.#core.closing) throw new PoolClosedError(this.name);
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
    const driver = this.#driver;
    const core = this.#core;
    const conn = { client };
    const state: ListenerState = {
      ...this.#tracker.newState('listener', site, tag, () => driver.destroy(conn.client)),
      handlers: new Map(),
      conn,
    };
    const onHandlerError = (err: unknown): void =>
      safeLog(this.#opts.common.logger, 'error', `lifeguard: pool "${this.name}": listener #${state.id} handler threw: ${String(err)}`);
    const watch = (c: pg.Client): void => {
      c.on('error', (err: Error) => {
        // a listener connection that broke: reconnecting handles it (not a failure to connect)
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
  async close(opts?: { timeoutMs?: number }): Promise<CloseResult> {
    const result = await this.#core.close({ timeoutMs: opts?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS });
    const open = await this.#tracker.closeAll();
    this.#ended = true;
    registry.pools.delete(this);
    return { forced: [...result.forced, ...open] };
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
 * pg.Pool's own typed overloads.
 */
function query(this: LifeguardPgPool, text: unknown, values?: unknown, callback?: unknown): unknown {
  const core = this._core;
  const site = core.site(query);
  if (typeof values === 'function') {
    callback = values;
    values = undefined;
  }
  if (typeof text === 'object' && text !== null && typeof (text as { submit?: unknown }).submit === 'function') {
    return querySubmittable(core, text as pg.Submittable & NodeJS.EventEmitter, values, site);
  }
  const now = core.acquireNow(site);
  const p = now !== undefined ? run(core, now, text, values) : core.acquire(undefined, site, false).then((l) => run(core, l, text, values));
  if (typeof callback === 'function') {
    const cb = callback as Callback<pg.QueryResult>;
    p.then(
      (res) => cb(undefined, res),
      (err: Error) => cb(err),
    );
    return undefined;
  }
  return p;
}

/** Runs one query on a lease with pg's callback form (no promise inside pg) and releases it. */
function run(core: CorePool<pg.Client, PgPoolClient>, lease: PgLease, text: unknown, values: unknown): Promise<pg.QueryResult> {
  const rec = lease[kRecord];
  return new Promise<pg.QueryResult>((resolve, reject) => {
    try {
      (rec.conn.raw as unknown as { query(t: unknown, v: unknown, cb: (err: Error | null, res: pg.QueryResult) => void): void }).query(
        text,
        values,
        (err, res) => {
          if (err) {
            // judged by the connection's state (a FATAL, a dead socket), not by the error
            core.releaseLease(rec, undefined, undefined);
            reject(err);
          } else {
            core.releaseLease(rec, undefined, undefined);
            resolve(res);
          }
        },
      );
    } catch (err) {
      // pg throws at once for a query it cannot send (e.g. `undefined`): the connection is fine
      if (!rec.released) core.releaseLease(rec, undefined, undefined);
      reject(err);
    }
  });
}

function querySubmittable(
  core: CorePool<pg.Client, PgPoolClient>,
  q: pg.Submittable & NodeJS.EventEmitter,
  values: unknown,
  site: SiteHolder | undefined,
): unknown {
  core.acquire(undefined, site, false).then(
    (lease) => {
      const rec = lease[kRecord];
      let done = false;
      // judged by the connection's state, not by the error
      const finish = (): void => {
        if (done) return;
        done = true;
        core.releaseLease(rec, undefined, undefined);
      };
      q.once('end', finish);
      q.once('error', finish);
      (rec.conn.raw as unknown as { query(q: unknown, v?: unknown): unknown }).query(q, values);
    },
    (err: unknown) => q.emit('error', err),
  );
  return q;
}

Object.defineProperty(LifeguardPgPool.prototype, 'query', { value: query, writable: true, configurable: true });

// pg.Pool's counts are prototype getters in pg-pool (typed as properties): replace them.
Object.defineProperties(LifeguardPgPool.prototype, {
  totalCount: { get(this: LifeguardPgPool) { return this._core.total; }, configurable: true },
  idleCount: { get(this: LifeguardPgPool) { return this._core.idleCount; }, configurable: true },
  waitingCount: { get(this: LifeguardPgPool) { return this._core.waitingCount; }, configurable: true },
  expiredCount: { get() { return 0; }, configurable: true },
});

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

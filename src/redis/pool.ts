/**
 * `LifeguardRedisPool`: one shared multiplexed ioredis client for ordinary
 * commands, exclusive pooled connections for blocking and stateful work, and
 * tracked subscriber / dedicated connections, all inside one connection budget.
 */
import type { Cluster, Redis } from 'ioredis';
import type { DedicatedInfo } from '../core/dedicated.js';
import { ConfigError, PoolClosedError } from '../core/errors.js';
import type { EventListener, LeaseInfo } from '../core/events.js';
import type { Lease } from '../core/lease.js';
import type { AcquireOptions } from '../core/options.js';
import { type CloseResult, CorePool, type PoolStats } from '../core/pool.js';
import { loadIoredis } from '../core/peer.js';
import { describeValue, scrubError } from '../core/redact.js';
import { defineIdentity, PoolShell } from '../core/shell.js';
import { raceTimeout } from '../core/timeouts.js';
import { FailFast } from './circuit.js';
import { type DedicatedOptions, type OpenContext, openDedicated, openSubscriber } from './open.js';
import { type RedisPoolOptions, resolveRedisOptions } from './options.js';
import { BudgetPublisher } from './publish.js';
import type { DedicatedConnection, Subscriber } from './subscriber.js';
// issue 17: cluster, sentinel, duplicate()
import type { RedisNodeStats } from './cluster.js';
import { installDuplicate } from './duplicate.js';
import { FailoverWatch, remoteOf } from './sentinel.js';
import { closeClient, type RedisClient, Topology } from './topology.js';

export type { DedicatedOptions } from './open.js';

/**
 * A lease of an exclusive Redis connection: `lease.client` is an ioredis `Redis`
 * (a `Cluster` for a cluster pool).
 */
export type RedisLease<C extends RedisClient = Redis> = Lease<C, C>;

/**
 * A Redis pool. Create with `createRedisPool()` or `getPoolManager().redis()`. `C` is
 * the client type: ioredis `Redis`, or `Cluster` for a pool made with `cluster`.
 */
export class LifeguardRedisPool<C extends RedisClient = Redis> {
  /**
   * The shared client for ordinary commands: one multiplexed connection that
   * reconnects with backoff. A real ioredis `Redis`; do not run blocking commands,
   * MULTI/WATCH or SUBSCRIBE on it (use `withConnection` / `subscriber()`).
   * Its `duplicate()` opens a connection inside the budget (for BullMQ and other
   * libraries that copy the client), or throws `BUDGET_EXHAUSTED`.
   */
  readonly client: C;
  readonly #shell: PoolShell<C, C>;
  readonly #core: CorePool<C, C>;
  /** issue 17: where connections come from (server, sentinel, cluster). */
  readonly #topology: Topology<C>;
  /** issue 17: set for a Sentinel-managed master. */
  readonly #failover: FailoverWatch | undefined;
  readonly #budget: BudgetPublisher;
  /** What opening a subscriber or dedicated connection needs of this pool. */
  readonly #opening: OpenContext<C>;

  constructor(options: RedisPoolOptions = {}) {
    // without ioredis, fail here (a ConfigError naming the package), before any part of the pool exists
    loadIoredis();
    const opts = resolveRedisOptions(options);
    const topology = (this.#topology = new Topology<C>(opts));
    const c = opts.common;
    const shellOptions = { driver: 'redis', logger: c.logger, connectTimeoutMs: c.connectTimeoutMs, secrets: opts.secrets, label: 'redis pool', target: opts.target, app: c.app } as const;
    this.#shell = new PoolShell<C, C>(this, shellOptions, (hub) =>
      new CorePool(topology.driver(), c, hub, {
        healthCheck: () => this.#ping(),
        // the shared client counts as a working connection: the breaker opens only when nothing works
        hasWorkingConnection: () => this.client.status === 'ready',
      }),
    );
    const core = (this.#core = this.#shell.core);
    this.#opening = { shell: this.#shell, topology, opts };
    this.#failover = opts.sentinel ? this.#watchFailover(opts.sentinel.failoverGraceMs) : undefined;
    // the shared client holds one permit for the pool's whole life
    core.budget.tryTake('shared');
    let attempt = 0;
    this.client = topology.shared((times: number) => {
      attempt = times;
      return core.retryStrategy(times);
    });
    installDuplicate(this.client, {
      core,
      tracker: this.#shell.tracker,
      acquireTimeoutMs: c.acquireTimeoutMs,
      open: (overrides) => {
        const copy = topology.duplicate((times: number) => core.retryStrategy(times), overrides);
        // first, before the library's listeners: an AUTH error carries the password in command.args
        copy.prependListener('error', (err: unknown) => void scrubError(err, opts.secrets));
        return copy;
      },
      close: (cl) => closeClient(cl, c.connectTimeoutMs),
      site: () => core.longLivedSite(this.client.duplicate),
      closing: () => core.closing,
      closedError: () => new PoolClosedError(this.name),
    });
    const budget = (this.#budget = new BudgetPublisher(this.client, opts, () => core.closing));
    this.client.on('ready', () => {
      attempt = 0;
      this.#failoverReady();
      core.connectionSuccess();
      budget.publish();
    });
    this.client.on('error', (err: Error) => {
      // a failed attempt to (re)connect counts for the breaker; the breaking of a ready connection does not
      const opening = this.client.status !== 'ready';
      this.#shell.connectionError(err, attempt > 0 ? `shared client (reconnect attempt ${attempt})` : 'shared client');
      if (opening) core.connectionFailure(err.message);
      // the server refused SELECT (db out of range): stop rather than write to database 0
      if ((err as { command?: { name?: unknown } }).command?.name === 'select') this.client.disconnect();
    });
    const failFast = new FailFast(this.client, core);
    core.onCircuit = (to) => failFast.onCircuit(to);
    this.#shell.register();
  }

  /** The pool's name. */
  declare readonly name: string;

  /** True once close() was called. */
  get closing(): boolean {
    return this.#core.closing;
  }

  /** Where the pool connects, password masked. */
  declare readonly target: string;
  /** The `app` option: the first part of the server-side connection names. */
  declare readonly app: string;

  static {
    defineIdentity(LifeguardRedisPool.prototype, (pool) => pool.#shell);
  }

  // ---- issue 17: sentinel failover, per-node stats ------------------------------------

  /** Breaker grace during a Sentinel failover: failures within the window do not count. */
  #watchFailover(graceMs: number): FailoverWatch {
    const watch = new FailoverWatch(graceMs);
    const core = this.#core;
    const failure = core.connectionFailure.bind(core);
    const success = core.connectionSuccess.bind(core);
    // the engine feeds every connection-level failure through these two methods
    core.connectionFailure = (reason: string) => {
      if (watch.counts(new Error(reason))) failure(reason);
    };
    core.connectionSuccess = () => {
      watch.healthy();
      success();
    };
    return watch;
  }

  #failoverReady(): void {
    const moved = this.#failover?.ready(remoteOf(this.client as Redis));
    if (moved === undefined) return;
    this.#shell.log('info', `failover: master ${moved.from ?? '?'} -> ${moved.to}`);
    const hub = this.#shell.hub;
    if (hub.active) {
      hub.emit({ type: 'failover', pool: this.name, driver: 'redis', time: Date.now(), from: moved.from, to: moved.to, via: 'sentinel' });
    }
  }

  /**
   * Cluster pools: the pool's open connections per node (shared, pooled, subscribers,
   * dedicated), each at most `max`. Empty for a single server or Sentinel.
   */
  nodeStats(): RedisNodeStats[] {
    return this.#topology.nodeStats(this.client);
  }

  /**
   * Health check: PING on the shared client within min(intervalMs, connectTimeoutMs).
   * Fails at once when the client is not connected: a PING would sit in the offline
   * queue, and an outage shorter than the timeout would go unseen.
   */
  async #ping(): Promise<void> {
    const status = this.client.status;
    if (status !== 'ready') throw new Error(`the shared client is not connected (${status})`);
    const timeoutMs = this.#core.healthCheckTimeoutMs;
    // when the timeout wins, the PING may still fail later (raceTimeout absorbs it)
    const reply = await raceTimeout(this.client.ping(), timeoutMs, () => new Error(`PING got no answer within ${timeoutMs} ms`));
    if (reply !== 'PONG') throw new Error(`PING answered ${String(reply)}`);
  }

  // ---- pooled exclusive connections -------------------------------------------------

  /** Checks out an exclusive connection as a lease (`lease.client`, then `lease.release()` or `await using`). */
  acquire(opts?: AcquireOptions): Promise<RedisLease<C>> {
    return this.#core.acquire(opts, this.#core.site(LifeguardRedisPool.prototype.acquire), true);
  }

  /**
   * Runs `fn` on an exclusive connection (BLPOP, MULTI/WATCH, anything stateful) and
   * always releases it; a connection left dirty is reset or destroyed. Attributed
   * lazily: a report names the line that awaited this call, at no per-call cost.
   */
  withConnection<T>(fn: (client: C) => Promise<T> | T, opts?: AcquireOptions): Promise<T> {
    return this.#shell.withConnection(LifeguardRedisPool.prototype.withConnection, fn, opts);
  }

  // ---- dedicated connections -----------------------------------------------------------

  /**
   * Opens a dedicated pub/sub connection inside the pool's budget. Close it when
   * done; one dropped without close() is closed and reported (`subscriber-lost`).
   */
  async subscriber(opts?: DedicatedOptions): Promise<Subscriber> {
    return openSubscriber(this.#opening, this.#core.longLivedSite(LifeguardRedisPool.prototype.subscriber), opts);
  }

  /**
   * Opens a long-lived connection outside the pool (inside its budget), for work
   * that owns a connection for a long time. Tracked like subscribers.
   */
  async dedicated(opts?: DedicatedOptions): Promise<DedicatedConnection> {
    return openDedicated(this.#opening, this.#core.longLivedSite(LifeguardRedisPool.prototype.dedicated), opts);
  }

  /** Live subscriber connections: id, channels and patterns, creation site, age, last message time. */
  subscribers(): DedicatedInfo[] {
    return this.#shell.tracker.list().filter((i) => i.kind === 'subscriber');
  }

  /** Live dedicated connections. */
  dedicatedConnections(): DedicatedInfo[] {
    return this.#shell.tracker.list().filter((i) => i.kind === 'dedicated');
  }

  // ---- reports and lifecycle ----------------------------------------------------------

  /** Counters, budget by kind and wait/hold percentiles. */
  stats(): PoolStats {
    return this.#shell.stats();
  }

  /** Outstanding leases, subscribers and dedicated connections, oldest first. */
  leases(): LeaseInfo[] {
    return this.#shell.leases();
  }

  /** @internal forces everything outstanding back (lifeguard/vitest after a leak). */
  reclaim(note: string): LeaseInfo[] {
    return this.#shell.reclaim(note);
  }

  /**
   * Closes the pool: new acquires fail with `POOL_CLOSED`, leases get `timeoutMs`
   * (default 10 s) to come back, then every connection is closed, the shared client,
   * subscribers and dedicated connections included, within the same deadline.
   */
  close(opts?: { timeoutMs?: number }): Promise<CloseResult> {
    return this.#shell.close(opts?.timeoutMs, async (left) => {
      this.#budget.stop();
      await closeClient(this.client, left());
      this.#core.budget.give('shared');
    });
  }

  /** Listens to this pool's events (`'event'`; any other name is a `CONFIG_INVALID` error). */
  on(event: 'event', listener: EventListener): this {
    this.#onlyEvent(event);
    this.#shell.on(listener);
    return this;
  }

  /** Listens to the next event only. */
  once(event: 'event', listener: EventListener): this {
    this.#onlyEvent(event);
    this.#shell.once(listener);
    return this;
  }

  #onlyEvent(event: unknown): void {
    if (event !== 'event') {
      throw new ConfigError(`lifeguard: redis pool "${this.name}": a redis pool emits only 'event', not '${describeValue(event)}'`, { pool: this.name });
    }
  }

  /** Stops listening. */
  off(event: 'event', listener: EventListener): this {
    if (event === 'event') this.#shell.off(listener);
    return this;
  }
}

/** Creates a Redis pool; with `cluster`, one whose clients are ioredis `Cluster`s. */
export function createRedisPool(options: RedisPoolOptions & { cluster: NonNullable<RedisPoolOptions['cluster']> }): LifeguardRedisPool<Cluster>;
export function createRedisPool(options?: RedisPoolOptions): LifeguardRedisPool;
export function createRedisPool(options: RedisPoolOptions = {}): LifeguardRedisPool | LifeguardRedisPool<Cluster> {
  return new LifeguardRedisPool<Redis>(options);
}

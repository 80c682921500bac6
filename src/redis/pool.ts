/**
 * `LifeguardRedisPool`: one shared multiplexed ioredis client for ordinary
 * commands, exclusive pooled connections for blocking and stateful work, and
 * tracked subscriber / dedicated connections, all inside one connection budget.
 */
import type { Cluster, Command, Redis } from 'ioredis';
import { DedicatedTracker, type DedicatedInfo, type DedicatedState } from '../core/dedicated.js';
import { contextStorage } from '../core/context.js';
import { PoolClosedError } from '../core/errors.js';
import { type EventListener, EventHub, type LeaseInfo } from '../core/events.js';
import type { Lease } from '../core/lease.js';
import { LogLimiter, safeLog } from '../core/logger.js';
import type { AcquireOptions } from '../core/options.js';
import { CLOSE_GRACE_MS, type CloseResult, CorePool, DEFAULT_CLOSE_TIMEOUT_MS, type PoolStats } from '../core/pool.js';
import { poolClosed } from '../core/closed.js';
import { loadIoredis } from '../core/peer.js';
import { scrubError, toError } from '../core/redact.js';
import { registry } from '../core/registry.js';
import { BUDGET_KEY, BUDGET_REFRESH_MS, BUDGET_STALE_S, BUDGET_TTL_S } from './budget.js';
import { redisConnectionName } from './driver.js';
import { OpenWatch, isRedisLimitError } from './connection.js';
import { type RedisPoolOptions, type ResolvedRedisOptions, resolveRedisOptions } from './options.js';
import { attachHandlers, DedicatedConnection, Subscriber, type SubscriberState } from './subscriber.js';
// issue 17: cluster, sentinel, duplicate()
import type { RedisNodeStats } from './cluster.js';
import { installDuplicate } from './duplicate.js';
import { FailoverWatch, remoteOf } from './sentinel.js';
import { closeClient, type RedisClient, Topology } from './topology.js';

/**
 * A lease of an exclusive Redis connection: `lease.client` is an ioredis `Redis`
 * (a `Cluster` for a cluster pool).
 */
export type RedisLease<C extends RedisClient = Redis> = Lease<C, C>;

type OnceWrapper = EventListener & { listener?: EventListener };

/** Options of `subscriber()` and `dedicated()`. */
export interface DedicatedOptions {
  /**
   * How long to wait for room in the budget.
   * @default the pool's `acquireTimeoutMs`
   */
  timeoutMs?: number;
  /** Attribution in reports. @default the current `runWithTag` tag */
  tag?: string;
}

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
  readonly #core: CorePool<C, C>;
  /** issue 17: where connections come from (server, sentinel, cluster). */
  readonly #topology: Topology<C>;
  /** issue 17: set for a Sentinel-managed master. */
  readonly #failover: FailoverWatch | undefined;
  readonly #hub: EventHub;
  readonly #opts: ResolvedRedisOptions;
  readonly #tracker: DedicatedTracker;
  readonly #errorLog = new LogLimiter(5, 10_000);
  #closed: Promise<CloseResult> | undefined;
  #published = false;
  readonly #publishTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: RedisPoolOptions = {}) {
    // without ioredis, fail here (a ConfigError naming the package), before any part of the pool exists
    loadIoredis();
    const opts = resolveRedisOptions(options);
    this.#opts = opts;
    this.#hub = new EventHub(registry.hub, opts.common.logger);
    this.#topology = new Topology<C>(opts);
    this.#core = new CorePool(this.#topology.driver(), opts.common, this.#hub, {
      healthCheck: () => this.#ping(),
      // the shared client counts as a working connection: the breaker opens only when nothing works
      hasWorkingConnection: () => this.client.status === 'ready',
    });
    this.#failover = opts.sentinel ? this.#watchFailover(opts.sentinel.failoverGraceMs) : undefined;
    this.#tracker = new DedicatedTracker(this.#core as unknown as CorePool<never, never>);
    // the shared client holds one permit for the pool's whole life
    this.#core.budget.tryTake('shared');
    let attempt = 0;
    const core = this.#core;
    this.client = this.#topology.shared((times: number) => {
      attempt = times;
      return core.retryStrategy(times);
    });
    installDuplicate(this.client, {
      core,
      tracker: this.#tracker,
      acquireTimeoutMs: opts.common.acquireTimeoutMs,
      open: (overrides) => {
        const copy = this.#topology.duplicate((times: number) => core.retryStrategy(times), overrides);
        // first, before the library's listeners: an AUTH error carries the password in command.args
        copy.prependListener('error', (err: unknown) => void scrubError(err, opts.secrets));
        return copy;
      },
      close: (c) => closeClient(c, opts.common.connectTimeoutMs),
      site: () => this.#core.longLivedSite(this.client.duplicate),
      closing: () => this.#core.closing,
      closedError: () => new PoolClosedError(this.name),
    });
    this.client.on('ready', () => {
      attempt = 0;
      this.#failoverReady();
      core.connectionSuccess();
      this.#publishBudget();
    });
    if (opts.publishBudget) {
      this.#publishTimer = setInterval(() => {
        if (this.client.status === 'ready') this.#publishBudget();
      }, BUDGET_REFRESH_MS);
      this.#publishTimer.unref?.();
    }
    this.client.on('error', (err: Error) => {
      // a failed attempt to (re)connect counts for the breaker; the breaking of a ready connection does not
      const opening = this.client.status !== 'ready';
      this.#connectionError(err, attempt > 0 ? `shared client (reconnect attempt ${attempt})` : 'shared client');
      if (opening) core.connectionFailure(err.message);
      // the server refused SELECT (db out of range): stop rather than write to database 0
      if ((err as { command?: { name?: unknown } }).command?.name === 'select') this.client.disconnect();
    });
    core.onCircuit = (to) => this.#onCircuit(to);
    registry.pools.add(this);
  }

  #failFast: Redis['sendCommand'] | undefined;
  /** The client's own sendCommand before fail-fast was installed (the command-timeout wrapper), if any. */
  #beforeFailFast: Redis['sendCommand'] | undefined;

  /**
   * While the circuit is open, commands on the shared client that would wait in
   * ioredis's offline queue (the client is not connected) fail at once with
   * `CIRCUIT_OPEN`, and those already queued are failed with it: the offline queue is
   * bounded by the breaker, not by `maxRetriesPerRequest`. Installed only while open,
   * so the shared client's commands pay nothing otherwise.
   */
  #onCircuit(to: 'closed' | 'open' | 'half-open'): void {
    const client = this.client;
    if (to === 'closed') {
      if (this.#failFast !== undefined && client.sendCommand === this.#failFast) {
        if (this.#beforeFailFast !== undefined) client.sendCommand = this.#beforeFailFast;
        else delete (client as { sendCommand?: unknown }).sendCommand;
      }
      this.#failFast = undefined;
      return;
    }
    if (to !== 'open') return;
    const core = this.#core;
    if (this.#failFast === undefined) {
      const own = Object.prototype.hasOwnProperty.call(client, 'sendCommand');
      const send = client.sendCommand;
      this.#beforeFailFast = own ? send : undefined;
      // every argument passed on: a cluster client's sendCommand takes a node as well
      this.#failFast = client.sendCommand = function (this: Redis, command: Command, ...rest: unknown[]): unknown {
        // 'connect': the handshake of a reconnection (AUTH, SELECT, CLIENT SETNAME, the ready check) goes through
        if (this.status !== 'ready' && this.status !== 'connect' && core.circuitTripped) {
          const err = core.circuitOpenError();
          if (err !== undefined) {
            command.reject(err);
            return command.promise;
          }
        }
        return (send as (this: Redis, c: Command, ...r: unknown[]) => unknown).call(this, command, ...rest);
      } as Redis['sendCommand'];
    }
    if (client.status !== 'ready') {
      const err = core.circuitOpenError();
      const flush = (client as unknown as { flushQueue?(e: Error, o: { offlineQueue: boolean; commandQueue: boolean }): void }).flushQueue;
      if (err !== undefined) flush?.call(client, err, { offlineQueue: true, commandQueue: false });
    }
  }

  /** The pool's name. */
  get name(): string {
    return this.#core.name;
  }

  /** Where the pool connects, password masked. */
  get target(): string {
    return this.#opts.target;
  }

  /** The `app` option: the first part of the server-side connection names. */
  get app(): string {
    return this.#opts.common.app;
  }

  /**
   * Publishes this process's budget for `lifeguard doctor`'s fleet view: field
   * `<app>:<pool>:<pid>` = `"<max> <epoch s>"` in the hash {@link BUDGET_KEY}, which
   * expires unless refreshed. The first write also drops fields nobody refreshed for
   * {@link BUDGET_STALE_S} (processes that died without closing their pools).
   */
  #publishBudget(): void {
    if (!this.#opts.publishBudget || this.#core.closing) return;
    const now = Math.floor(Date.now() / 1000);
    const field = budgetField(this.#opts);
    const first = !this.#published;
    this.#published = true;
    const p = this.client.pipeline().hset(BUDGET_KEY, field, `${this.#opts.common.max} ${now}`).expire(BUDGET_KEY, BUDGET_TTL_S).exec();
    void p.then(
      () => (first ? this.#pruneBudgets(now) : undefined),
      () => undefined, // read-only replica, ACL: the fleet view just lacks this process
    );
  }

  async #pruneBudgets(now: number): Promise<void> {
    try {
      const all = await this.client.hgetall(BUDGET_KEY);
      const stale = Object.entries(all)
        .filter(([, v]) => now - Number(v.split(' ')[1] ?? 0) > BUDGET_STALE_S)
        .map(([k]) => k);
      if (stale.length > 0) await this.client.hdel(BUDGET_KEY, ...stale);
    } catch {
      // best effort
    }
  }

  #connectionError(err: Error, what: string): void {
    scrubError(err, this.#opts.secrets);
    if (this.#hub.active) {
      this.#hub.emit({ type: 'error', pool: this.name, driver: 'redis', time: Date.now(), error: err, connectionId: undefined });
    }
    const s = this.#errorLog.take(performance.now());
    if (s >= 0) safeLog(this.#opts.common.logger, 'warn', `lifeguard: redis pool "${this.name}": ${what}: ${err.message}${s > 0 ? ` (${s} similar lines suppressed)` : ''}`);
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
    safeLog(this.#opts.common.logger, 'info', `lifeguard: redis pool "${this.name}": failover: master ${moved.from ?? '?'} -> ${moved.to}`);
    if (this.#hub.active) {
      this.#hub.emit({ type: 'failover', pool: this.name, driver: 'redis', time: Date.now(), from: moved.from, to: moved.to, via: 'sentinel' });
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
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const ping = this.client.ping();
      ping.catch(() => undefined); // when the timeout wins, the PING may still fail later
      const reply = await Promise.race([
        ping,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`PING got no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      if (reply !== 'PONG') throw new Error(`PING answered ${String(reply)}`);
    } finally {
      clearTimeout(timer);
    }
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
    const call = this.#core.scoped<T>(LifeguardRedisPool.prototype.withConnection);
    void this.#core.runScoped(call, opts, fn);
    return call.promise;
  }

  // ---- dedicated connections -----------------------------------------------------------

  /**
   * Opens a dedicated pub/sub connection inside the pool's budget. Close it when
   * done; one dropped without close() is closed and reported (`subscriber-lost`).
   */
  async subscriber(opts?: DedicatedOptions): Promise<Subscriber> {
    const site = this.#core.longLivedSite(LifeguardRedisPool.prototype.subscriber);
    const tag = opts?.tag ?? contextStorage.getStore()?.tag;
    const raw = (await this.#openDedicated('subscriber', opts)) as Redis; // a Cluster has the same pub/sub surface
    const state: SubscriberState = {
      ...this.#dedicatedState('subscriber', raw, site, tag),
      handlers: new Map(),
      patternHandlers: new Map(),
    };
    attachHandlers(raw, state, (err) => this.#connectionError(toError(err), `subscriber #${state.id} handler threw`));
    // ioredis subscribes again by itself after a reconnect; say so
    let connected = true;
    raw.on('close', () => {
      connected = false;
    });
    raw.on('ready', () => {
      if (connected || state.closed) return;
      connected = true;
      if (this.#hub.active) {
        this.#hub.emit({
          type: 'resubscribe',
          pool: this.name,
          driver: 'redis',
          time: Date.now(),
          connection: 'subscriber',
          id: state.id,
          channels: [...state.channels],
          patterns: [...state.patterns],
        });
      }
    });
    const sub = new Subscriber(raw, state, this.#tracker);
    this.#tracker.track(sub, state);
    return sub;
  }

  /**
   * Opens a long-lived connection outside the pool (inside its budget), for work
   * that owns a connection for a long time. Tracked like subscribers.
   */
  async dedicated(opts?: DedicatedOptions): Promise<DedicatedConnection> {
    const site = this.#core.longLivedSite(LifeguardRedisPool.prototype.dedicated);
    const tag = opts?.tag ?? contextStorage.getStore()?.tag;
    const raw = (await this.#openDedicated('dedicated', opts)) as Redis;
    const state = this.#dedicatedState('dedicated', raw, site, tag);
    const conn = new DedicatedConnection(raw, state, this.#tracker, this.name);
    this.#tracker.track(conn, state);
    return conn;
  }

  async #openDedicated(kind: 'subscriber' | 'dedicated', opts: DedicatedOptions | undefined): Promise<C> {
    if (this.#core.closing) throw new PoolClosedError(this.name);
    await this.#tracker.reserve(kind, opts?.timeoutMs ?? this.#opts.common.acquireTimeoutMs, kind);
    const core = this.#core;
    const raw = this.#topology.dedicated((times: number) => core.retryStrategy(times), kind);
    const connectTimeoutMs = this.#opts.common.connectTimeoutMs;
    let opened = false;
    raw.on('error', (err: Error) => {
      if (!opened) return; // the first connect's failure is the caller's error, below
      this.#connectionError(err, `${kind} connection`);
      if (raw.status !== 'ready') core.connectionFailure(err.message);
    });
    const watch = new OpenWatch(raw);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const connecting = raw.connect();
      connecting.catch(() => undefined);
      await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`lifeguard: redis pool "${this.name}": no ready ${kind} connection within ${connectTimeoutMs} ms`)), connectTimeoutMs);
        }),
      ]);
      // a SELECT the server refused (db out of range) leaves a ready connection on db 0: refuse it
      if (watch.reply !== undefined) throw watch.reply;
      // close() ran while this connection was opened: its closeAll() did not see it
      if (this.#core.closing) throw new PoolClosedError(this.name);
      opened = true;
    } catch (err) {
      raw.disconnect();
      if (err instanceof PoolClosedError) {
        this.#core.budget.give(kind);
        throw err;
      }
      // asked while its permit is still held: the server never sees more than the budget
      const reason = scrubError(await watch.reason(err, this.#opts.target, connectTimeoutMs), this.#opts.secrets);
      this.#core.budget.give(kind);
      // the server's connection limit: a lifeguard error that names it, not "Connection is closed."
      if (isRedisLimitError(reason)) throw this.#tracker.limitError(kind, reason);
      throw reason;
    } finally {
      clearTimeout(timer);
      watch.stop();
    }
    return raw;
  }

  #dedicatedState(kind: 'subscriber' | 'dedicated', raw: Redis, site: DedicatedState['site'], tag: string | undefined): DedicatedState {
    const timeoutMs = this.#opts.common.connectTimeoutMs;
    return this.#tracker.newState(kind, site, tag, (ms?: number) => closeClient(raw, ms ?? timeoutMs));
  }

  /** Live subscriber connections: id, channels and patterns, creation site, age, last message time. */
  subscribers(): DedicatedInfo[] {
    return this.#tracker.list().filter((i) => i.kind === 'subscriber');
  }

  /** Live dedicated connections. */
  dedicatedConnections(): DedicatedInfo[] {
    return this.#tracker.list().filter((i) => i.kind === 'dedicated');
  }

  // ---- reports and lifecycle ----------------------------------------------------------

  /** Counters, budget by kind and wait/hold percentiles. */
  stats(): PoolStats {
    return this.#core.stats();
  }

  /** Outstanding leases, subscribers and dedicated connections, oldest first. */
  leases(): LeaseInfo[] {
    return [...this.#core.leases(), ...this.#tracker.list()].sort((a, b) => b.ageMs - a.ageMs);
  }

  /** @internal forces everything outstanding back (lifeguard/vitest after a leak). */
  reclaim(note: string): LeaseInfo[] {
    const out: LeaseInfo[] = this.#core.reclaim(note);
    const open = this.#tracker.list();
    void this.#tracker.closeAll();
    return out.concat(open);
  }

  /**
   * Closes the pool: new acquires fail with `POOL_CLOSED`, leases get `timeoutMs`
   * (default 10 s) to come back, then every connection is closed, the shared client,
   * subscribers and dedicated connections included.
   */
  close(opts?: { timeoutMs?: number }): Promise<CloseResult> {
    const timeoutMs = opts?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    if (this.#closed !== undefined) {
      // concurrent and repeated calls share one close; a finite timeout bounds one still draining
      if (timeoutMs !== Infinity) this.#core.close({ timeoutMs }).catch(() => undefined);
      return this.#closed;
    }
    this.#closed = (async () => {
      // one deadline for everything: leases, then subscribers, dedicated connections and the shared client
      const deadline = performance.now() + timeoutMs;
      const left = (): number =>
        timeoutMs === Infinity ? this.#opts.common.connectTimeoutMs : Math.max(CLOSE_GRACE_MS, Math.round(deadline - performance.now()));
      const result = await this.#core.close({ timeoutMs }).catch((err: unknown) => {
        this.#closed = undefined; // a bad timeoutMs: the pool is not closing
        throw err;
      });
      const open = await this.#tracker.closeAll(left());
      clearInterval(this.#publishTimer);
      if (this.#published && this.client.status === 'ready') this.client.hdel(BUDGET_KEY, budgetField(this.#opts)).catch(() => undefined);
      await closeClient(this.client, left());
      this.#core.budget.give('shared');
      registry.pools.delete(this);
      poolClosed(this);
      return { forced: [...result.forced, ...open] };
    })();
    return this.#closed;
  }

  /** True once close() was called. */
  get closing(): boolean {
    return this.#core.closing;
  }

  /** Listens to this pool's events. */
  on(event: 'event', listener: EventListener): this {
    if (event !== 'event') throw new TypeError(`lifeguard: a redis pool emits only 'event', not ${String(event)}`);
    this.#hub.add(listener);
    return this;
  }

  /** Listens to the next event only. */
  once(event: 'event', listener: EventListener): this {
    const wrapper: OnceWrapper = (e) => {
      this.#hub.remove(wrapper);
      listener(e);
    };
    wrapper.listener = listener;
    return this.on(event, wrapper);
  }

  /** Stops listening. */
  off(event: 'event', listener: EventListener): this {
    if (event === 'event') this.#hub.remove(listener);
    return this;
  }
}

function budgetField(opts: ResolvedRedisOptions): string {
  return redisConnectionName(opts.common.app, opts.common.name).slice('lifeguard:'.length);
}

/** Creates a Redis pool; with `cluster`, one whose clients are ioredis `Cluster`s. */
export function createRedisPool(options: RedisPoolOptions & { cluster: NonNullable<RedisPoolOptions['cluster']> }): LifeguardRedisPool<Cluster>;
export function createRedisPool(options?: RedisPoolOptions): LifeguardRedisPool;
export function createRedisPool(options: RedisPoolOptions = {}): LifeguardRedisPool | LifeguardRedisPool<Cluster> {
  return new LifeguardRedisPool<Redis>(options);
}

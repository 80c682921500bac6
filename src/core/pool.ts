/**
 * The engine: idle set, waiters, lease table, budget and maintenance for one pool.
 * Knows no driver. The hot path (an idle connection, nobody waiting) allocates a
 * lease and a record, reads the clock once and builds no text.
 */
import { fullJitter } from './backoff.js';
import { Breaker, type Transition } from './breaker.js';
import { Budget } from './budget.js';
import { HealthMonitor } from './health.js';
import { cheapContext, contextStorage, type Scope } from './context.js';
import type { Driver } from './driver.js';
import {
  AcquireTimeoutError,
  CircuitOpenError,
  ConfigError,
  LeaseReleasedError,
  NestedAcquireError,
  PoolClosedError,
  QueueFullError,
  type AcquireTimeoutCause,
} from './errors.js';
import type { CircuitState, DestroyReason, DriverKind, EventHub, LeaseInfo, LifeguardEvent } from './events.js';
import { Conn, Lease, LeaseRecord, type LeaseOwner, kRecord } from './lease.js';
import { type SiteContext, type SiteSource, afterSites, describeSite, formatDuration, holdersSummary, leakBlock, leaseInfo, siteOrReason } from './leaks.js';
import { LogLimiter, safeLog } from './logger.js';
import { type AcquireOptions, MAX_DURATION_MS, type ResolvedCommonOptions } from './options.js';
import { acquireChannel, circuitChannel, leakChannel, publishCircuit, publishLeak, traceAcquire } from './channels.js';
import type { Percentiles } from './histogram.js';
import { closeMeter, openMeter, PoolMeter } from './meter.js';
import { ScopedCall } from './scoped.js';
import { captureSite, formatSite, type SiteHolder } from './site.js';
import { describeValue, toError } from './redact.js';
import { type QueuedWaiter, WaiterQueue } from './waiters.js';

/** A connection idle longer than this is checked before it is handed out. */
export const VALIDATE_AFTER_IDLE_MS = 1000;
const RELEASE_NOT_RECORDED = "an unrecorded site (release sites are captured with leakDetection.captureStacks 'always')";
/** The tag of internal short leases (health checks used to take one); leak reports leave them out. */
export const HEALTH_CHECK_TAG = 'lifeguard:health-check';
/** How long `close()` waits for leases by default before forcing them. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
/** After a leak or timeout with no site, every acquire is captured for this long (sampled mode). */
const ESCALATE_MS = 60_000;
/** Timed-out acquires rejected per turn of the event loop; the rest follow in the next turns. */
const EXPIRE_BATCH = 256;
/** What `close()` gives opening and closing connections past its timeout before it cuts them. */
export const CLOSE_GRACE_MS = 100;
/** First wait before a probe may raise a connection-limit ceiling; doubles per refused probe. */
export const CEILING_PROBE_MS = 1000;
/** Longest wait between two ceiling probes. */
export const CEILING_PROBE_MAX_MS = 30_000;

/** Pool counters and latency percentiles. */
export interface PoolStats {
  readonly name: string;
  readonly driver: DriverKind;
  /** The connection budget. */
  readonly max: number;
  readonly min: number;
  /** Pooled connections open (idle + active + being checked or reset). */
  readonly total: number;
  /** Leases out. */
  readonly active: number;
  /** Pooled connections free. */
  readonly idle: number;
  /** Callers waiting for a connection. */
  readonly pending: number;
  /** Connections being opened. */
  readonly creating: number;
  /** Leases handed out since the pool opened. */
  readonly acquired: number;
  /** Leases returned (released, destroyed, lost or forced). */
  readonly released: number;
  /** Connections opened. */
  readonly created: number;
  /** Connections closed, by reason. */
  readonly destroyed: Readonly<Record<DestroyReason, number>>;
  /** Acquires that timed out. */
  readonly timeouts: number;
  /** Failed connection attempts. */
  readonly connectFailures: number;
  /** Time callers waited for a lease, ms, since the pool opened (percentiles estimated from the histogram's buckets). */
  readonly waitMs: Percentiles;
  /** Time leases were held, ms, since the pool opened (percentiles estimated from the histogram's buckets). */
  readonly heldMs: Percentiles;
  /** Circuit breaker state (`closed` when the breaker is off). */
  readonly circuit: CircuitState;
  /** Result of the health checks (true until `failureThreshold` checks in a row fail). */
  readonly healthy: boolean;
  /** Consecutive failed connection attempts (0 when connecting works). */
  readonly reconnectAttempt: number;
  /**
   * The effective ceiling on pooled connections set by the server's connection limit
   * (PostgreSQL `53300`, Redis `max number of clients reached`) while the pool held
   * working connections; undefined when none is in effect. Raised again by probing.
   */
  readonly ceiling: number | undefined;
  /** Budget permits by holder kind, and free. */
  readonly budget: { readonly available: number; readonly pooled: number; readonly shared: number; readonly dedicated: number; readonly listener: number; readonly subscriber: number };
}

/** What `close()` had to force. */
export interface CloseResult {
  /** Leases still out when the timeout passed; their connections were closed. */
  readonly forced: readonly LeaseInfo[];
}

/** Driver-specific notifications (pg.Pool's positional events). */
export interface PoolHooks<C, F> {
  onConnect?(conn: C): void;
  onAcquire?(conn: C, lease: Lease<C, F>): void;
  onRelease?(error: unknown, conn: C): void;
  /** A pooled connection left the pool (`reason` says why); called as it is taken out, before it is closed. */
  onRemove?(conn: C, reason: DestroyReason): void;
  /** A pooled connection failed; `idle` is true when no lease held it (idle, being checked or reset). */
  onError?(error: Error, conn: C, idle: boolean): void;
  /** Replaces the default health check (a validated pooled connection); rejects when unhealthy. */
  healthCheck?(): Promise<void>;
  /** True when a connection of the pool outside the pooled ones works (the shared Redis client). */
  hasWorkingConnection?(): boolean;
}

/** Engine behaviour an adapter chooses (pg.Pool and Redis pools differ here). */
export interface CoreBehaviour {
  /**
   * Open connections up to `min` on its own (at start, after a loss, after an outage).
   * `false`: `min` only keeps idle connections from being closed (pg.Pool's meaning).
   */
  readonly openMin: boolean;
}

const DEFAULT_BEHAVIOUR: CoreBehaviour = { openMin: true };

/** How `close()` ends a pool. */
export interface CloseOptions {
  /**
   * How long to wait for outstanding leases (and, with `serveWaiters`, queued callers)
   * before forcing them; `Infinity` waits as long as they take (pg.Pool's `end()`).
   * @default 10000
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Keep serving callers already waiting (opening connections for them if needed)
   * instead of rejecting them with `POOL_CLOSED`.
   * @default false
   */
  readonly serveWaiters?: boolean;
}

interface Waiter<C, F> extends QueuedWaiter {
  settled: boolean;
  resolve: (lease: Lease<C, F>) => void;
  reject: (error: unknown) => void;
  readonly site: SiteSource | undefined;
  readonly tag: string | undefined;
  readonly scope: Scope | undefined;
  readonly track: boolean;
  readonly enqueuedAt: number;
  readonly timeoutMs: number;
  /** performance.now() time at which it times out. */
  readonly deadline: number;
  readonly nestedHeld: LeaseRecord<C> | undefined;
  signal: AbortSignal | undefined;
}

/** The waiters of one pool that share an `AbortSignal`: one 'abort' listener for all of them. */
interface SignalWaiters {
  readonly waiters: Set<object>;
  readonly onAbort: () => void;
}

type Entry = (...args: never[]) => unknown;

const DESTROY_REASONS: readonly DestroyReason[] = [
  'error',
  'broken',
  'validation-failed',
  'released-with-error',
  'dirty',
  'idle',
  'lifetime',
  'max-uses',
  'lost',
  'budget',
  'close',
];

export class CorePool<C, F> implements LeaseOwner<C, F> {
  readonly name: string;
  readonly kind: DriverKind;
  readonly options: ResolvedCommonOptions;
  readonly budget: Budget;
  readonly events: EventHub;
  readonly #driver: Driver<C, F>;
  readonly #hooks: PoolHooks<C, F>;

  readonly #all = new Set<Conn<C>>();
  readonly #idle: Conn<C>[] = [];
  readonly #waiters = new WaiterQueue<Waiter<C, F>>();
  /** Leases out now; each is also `conn.lease` of a connection in #all (no set to keep on the hot path). */
  #active = 0;
  #creating = 0;
  #validating = 0;
  #resetting = 0;
  #budgetWait: AbortController | undefined;
  readonly #inflight = new Set<Promise<unknown>>();

  #leaseSeq = 0;
  #connSeq = 0;
  #acquired = 0;
  #released = 0;
  #created = 0;
  #timeouts = 0;
  #connectFailures = 0;
  #lastConnectError: unknown = undefined;
  readonly #destroyed: Record<DestroyReason, number>;
  /** Histograms and counters for exporters (`lifeguard/prometheus`, `lifeguard/otel`). */
  readonly meter: PoolMeter;

  #exhausted = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  /** A batch of timeouts is being expired; the next batch runs in the next turn. */
  #expiring = false;
  readonly #signals = new Map<AbortSignal, SignalWaiters>();
  #satLevel = 0;
  #sampleTick = 0;
  readonly #samplePeriod: number;
  readonly #captureAlways: boolean;
  /** Scoped calls are attributed lazily (capture is on at all). */
  readonly #lazySites: boolean;
  readonly #siteCtx: SiteContext;
  #escalatedUntil = 0;
  readonly #finalizer: FinalizationRegistry<LeaseRecord<C>> | undefined;
  readonly #nestedSeen = new Set<string>();
  readonly #leakLog = new LogLimiter(10, 60_000);
  readonly #errorLog = new LogLimiter(5, 10_000);

  readonly #breaker: Breaker | undefined;
  /** Fast flag for the hot path: the breaker is open or half-open. */
  #breakerTripped = false;
  #breakerTimer: ReturnType<typeof setTimeout> | undefined;
  /** Consecutive failed connection attempts; > 0 means back off, one attempt at a time. */
  #attempt = 0;
  #retryAt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #refilling = false;
  /** When the current run of failed connection attempts began (performance.now()). */
  #downSince = 0;
  /** When the last failed connection attempt was seen: attempts started before it are the same event. */
  #failSeenAt = -Infinity;
  /** Effective ceiling on pooled connections set by the server's connection limit. */
  #ceiling: number | undefined = undefined;
  #ceilingRefusals = 0;
  #ceilingTimer: ReturnType<typeof setTimeout> | undefined;
  #ceilingProbeDue = false;
  /** The next connection opened is a ceiling probe. */
  #probeNext = false;
  readonly #health: HealthMonitor | undefined;
  /** Adapters' hook on breaker changes (the shared Redis client fails fast while open). */
  #onCircuit: ((to: CircuitState) => void) | undefined;

  #closing = false;
  /** Closing by `end()`: queued callers are still served. */
  #serveWaiters = false;
  #forceClose = false;
  #forceTimer: ReturnType<typeof setTimeout> | undefined;
  /** When `close()` forces what is still out (performance.now() clock); Infinity: not armed. */
  #forceAt = Infinity;
  /** close() has finished: a later call only returns its result. */
  #closeDone = false;
  #closePromise: Promise<CloseResult> | undefined;
  #onDrained: (() => void) | undefined;
  readonly #sweeper: ReturnType<typeof setInterval>;
  readonly #sweepMs: number;
  /** One timer for idle eviction, armed for the oldest idle connection. */
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #lifetimeTimers = new Map<Conn<C>, ReturnType<typeof setTimeout>>();
  readonly #behaviour: CoreBehaviour;

  constructor(
    driver: Driver<C, F>,
    options: ResolvedCommonOptions,
    events: EventHub,
    hooks: PoolHooks<C, F> = {},
    behaviour: CoreBehaviour = DEFAULT_BEHAVIOUR,
  ) {
    this.name = options.name;
    this.kind = driver.kind;
    this.options = options;
    this.#driver = driver;
    this.#hooks = hooks;
    this.#behaviour = behaviour;
    this.events = events;
    this.budget = new Budget(options.max);
    this.meter = new PoolMeter(this, driver.server);
    openMeter(this.meter);
    this.#destroyed = Object.fromEntries(DESTROY_REASONS.map((r) => [r, 0])) as Record<DestroyReason, number>;
    const ld = options.leakDetection;
    this.#samplePeriod = ld !== false && ld.sampleRate > 0 ? Math.max(1, Math.round(1 / ld.sampleRate)) : Infinity;
    this.#captureAlways = ld !== false && ld.captureStacks === 'always';
    this.#lazySites = ld !== false && ld.captureStacks !== false;
    this.#siteCtx = {
      ignore: ld === false ? [] : ld.ignoreFrames,
      missing: ld === false || ld.captureStacks === false ? 'capture-off' : 'not-sampled',
    };
    this.#finalizer = ld === false ? undefined : new FinalizationRegistry((rec) => this.#onLost(rec));
    const periods = [1000];
    if (ld !== false) periods.push(ld.thresholdMs / 2);
    this.#sweepMs = Math.max(5, Math.min(...periods));
    this.#sweeper = setInterval(() => this.#sweep(), this.#sweepMs);
    this.#sweeper.unref();
    const cb = options.circuitBreaker;
    this.#breaker = cb === false ? undefined : new Breaker(cb.failureThreshold, cb.resetTimeoutMs, cb.openAfterMs);
    const hc = options.healthCheck;
    this.#health =
      hc === false
        ? undefined
        : new HealthMonitor(hc, {
            check: () => {
              const p = hooks.healthCheck ? hooks.healthCheck() : this.#defaultHealthCheck();
              this.#track(p.catch(noop)); // close() waits for (or cuts) a check in flight
              return p;
            },
            onSuccess: () => this.connectionSuccess(),
            onChange: (healthy, detail) => this.#onHealthChange(healthy, detail),
          });
    this.#ensureMin();
  }

  // ---- acquisition sites -------------------------------------------------------

  /**
   * Captures the caller's site above `entry` according to the capture mode; call it
   * synchronously at the public entry point, before any `await`.
   */
  site(entry: Entry): SiteHolder | undefined {
    const ld = this.options.leakDetection;
    if (ld === false || ld.captureStacks === false) return undefined;
    if (ld.captureStacks === 'sampled' && this.#escalatedUntil === 0) {
      if (++this.#sampleTick < this.#samplePeriod) return undefined;
      this.#sampleTick = 0;
    }
    return captureSite(entry, ld.stackTraceLimit);
  }

  /**
   * The creation site of a long-lived connection (subscriber, listener, dedicated):
   * captured whenever capture is on at all, since these are few and the cost is once.
   */
  longLivedSite(entry: Entry): SiteHolder | undefined {
    const ld = this.options.leakDetection;
    if (ld === false || ld.captureStacks === false) return undefined;
    return captureSite(entry, ld.stackTraceLimit);
  }

  /**
   * The sink and promise of a scoped call (`query`, `withConnection`,
   * `withTransaction`): nothing is captured now; a report that needs the site wakes
   * the call to capture its awaiting caller's line (see scoped.ts).
   */
  scoped<T>(entry: Entry): ScopedCall<T> {
    const ld = this.options.leakDetection;
    return new ScopedCall<T>(this.#lazySites, ld === false ? 1 : ld.stackTraceLimit, entry);
  }

  /** How sites of this pool become text (`leakDetection.ignoreFrames`, and why a site is missing). */
  get siteContext(): SiteContext {
    return this.#siteCtx;
  }

  #escalate(): void {
    const ld = this.options.leakDetection;
    if (ld === false || ld.captureStacks !== 'sampled') return;
    if (this.#escalatedUntil === 0) {
      safeLog(
        this.options.logger,
        'info',
        `lifeguard: pool "${this.name}": a leak or timeout had no recorded site; capturing every acquisition stack for ${ESCALATE_MS / 1000} s`,
      );
    }
    this.#escalatedUntil = performance.now() + Math.max(ESCALATE_MS, 4 * ld.thresholdMs);
  }

  // ---- acquire -----------------------------------------------------------------

  /**
   * Checks out a connection. `track` marks leases the user holds (tracked for
   * garbage collection and nested acquires); internal `query()` leases are not.
   */
  acquire(opts: AcquireOptions | undefined, site: SiteSource | undefined, track: boolean): Promise<Lease<C, F>> {
    if (opts !== undefined) {
      const bad = this.#badAcquireOptions(opts);
      if (bad !== undefined) return Promise.reject(bad);
    }
    if (acquireChannel.hasSubscribers) return traceAcquire(this, opts, site, () => this.#checkout(opts, site, track));
    return this.#checkout(opts, site, track);
  }

  #checkout(opts: AcquireOptions | undefined, site: SiteSource | undefined, track: boolean): Promise<Lease<C, F>> {
    if (this.#closing) return Promise.reject(new PoolClosedError(this.name));
    if (this.#breakerTripped) {
      const err = this.#circuitOpenError();
      if (err !== undefined) return Promise.reject(err);
    }
    const scope = contextStorage.getStore();
    const tag = opts?.tag ?? scope?.tag;
    let nested: LeaseRecord<C> | undefined;
    if (scope !== undefined && scope.held.length > 0 && this.options.onNestedAcquire !== 'ignore') {
      nested = this.#findHeld(scope);
      if (nested !== undefined) {
        const refused = this.#nestedAcquire(nested, site, tag);
        if (refused) return refused;
      }
    }
    if (opts?.signal?.aborted) return Promise.reject(opts.signal.reason);
    if (this.#waiters.size === 0) {
      const now = performance.now();
      const conn = this.#takeIdle(now);
      if (conn !== undefined) return Promise.resolve(this.#lease(conn, site, tag, now, 0, scope, track));
    }
    return this.#wait(opts, site, tag, scope, track, nested);
  }

  /**
   * An internal lease without a promise when a connection is free right now and
   * nothing else applies (nobody waiting, circuit closed, no held lease in this
   * context); undefined otherwise, and the caller takes `acquire()`.
   */
  acquireNow(site: SiteSource | undefined): Lease<C, F> | undefined {
    if (this.#closing || this.#breakerTripped || this.#waiters.size > 0 || this.#idle.length === 0) return undefined;
    if (acquireChannel.hasSubscribers) return undefined; // traced through acquire()
    const scope = contextStorage.getStore();
    if (scope !== undefined && scope.held.length > 0) return undefined;
    const now = performance.now();
    const conn = this.#takeIdle(now);
    return conn === undefined ? undefined : this.#lease(conn, site, scope?.tag, now, 0, scope, false);
  }

  /**
   * Runs `fn(arg)` (no closure per call) while `lease` counts as held by the current async context, so an
   * acquire inside it is seen as nested. Reuses the request's scope (`runWithTag`,
   * the tag helpers); opens one of its own on Node >= 24 (`cheapContext`), and before
   * that only when stacks are captured 'always' (tests, development), since on Node 20
   * and 22 a first `AsyncLocalStorage.run` turns on promise hooks for the whole process.
   */
  holding<A, T>(lease: Lease<C, F>, fn: (arg: A) => T, arg: A): T {
    if (this.options.onNestedAcquire === 'ignore') return fn(arg);
    const rec = lease[kRecord];
    const scope = contextStorage.getStore();
    if (scope !== undefined) {
      scope.held.push(rec);
      rec.scopeHeld = scope.held;
      return fn(arg);
    }
    const ld = this.options.leakDetection;
    // Node >= 24: always (no promise hooks); before, only when stacks are captured 'always'
    if (cheapContext || (ld !== false && ld.captureStacks === 'always')) return contextStorage.run({ tag: rec.tag, held: [rec] }, fn, arg);
    return fn(arg);
  }

  /**
   * A scoped call's body: takes a lease, runs `fn(client)` holding it, releases it
   * and settles `call` with the outcome; never rejects. `failed` maps the callback's
   * error to what the release gets (a reason to close the connection, or undefined)
   * and what the caller gets.
   */
  async runScoped<T>(
    call: ScopedCall<T>,
    opts: AcquireOptions | undefined,
    fn: (client: F) => Promise<T> | T,
    failed?: (error: unknown) => { readonly release: unknown; readonly error: unknown },
  ): Promise<void> {
    let lease: Lease<C, F>;
    try {
      lease = await this.acquire(opts, call, false);
    } catch (err) {
      call.reject(err);
      return;
    }
    const rec = lease[kRecord];
    let result: T;
    try {
      result = await this.holding(lease, fn, lease.client);
    } catch (err) {
      const f = failed?.(err);
      try {
        if (!rec.released) this.releaseLease(rec, f?.release, undefined);
      } catch {
        // a throwing 'release' listener: the callback's error is the one to report
      }
      call.reject(f === undefined ? err : f.error);
      return;
    }
    try {
      if (!rec.released) this.releaseLease(rec, undefined, undefined);
    } catch (err) {
      call.reject(err);
      return;
    }
    call.resolve(result);
  }

  /** Every acquire option is checked before anything else happens, whether the call would wait or not. */
  #badAcquireOptions(opts: AcquireOptions): ConfigError | undefined {
    if (typeof opts !== 'object' || opts === null) return this.#acquireOptionError('options', 'an object', opts);
    const { timeoutMs, signal, tag } = opts;
    if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_DURATION_MS)) {
      return this.#acquireOptionError('timeoutMs', `an integer from 1 to ${MAX_DURATION_MS}`, timeoutMs);
    }
    if (signal !== undefined && (typeof signal !== 'object' || signal === null || typeof signal.addEventListener !== 'function')) {
      return this.#acquireOptionError('signal', 'an AbortSignal', signal);
    }
    if (tag !== undefined && typeof tag !== 'string') return this.#acquireOptionError('tag', 'a string', tag);
    return undefined;
  }

  #acquireOptionError(option: string, expected: string, value: unknown): ConfigError {
    return new ConfigError(`lifeguard: pool "${this.name}": acquire option ${option} must be ${expected}, got ${describeValue(value)}`, {
      pool: this.name,
      option,
    });
  }

  #findHeld(scope: Scope): LeaseRecord<C> | undefined {
    for (const h of scope.held) {
      const r = h as LeaseRecord<C>;
      if (r.owner === this && !r.released) return r;
    }
    return undefined;
  }

  /**
   * Reports a nested acquire once the sites of both calls are known (scoped calls
   * capture theirs a microtask later); with 'throw', the acquire's rejection.
   */
  #nestedAcquire(held: LeaseRecord<C>, site: SiteSource | undefined, tag: string | undefined): Promise<never> | undefined {
    this.meter.nestedAcquires++;
    const report = (): Error | undefined => {
      const heldSite = describeSite(held.site, this.#siteCtx).site;
      const newSite = describeSite(site, this.#siteCtx).site;
      if (this.events.active) {
        this.#emit({ type: 'nested-acquire', pool: this.name, driver: this.kind, time: Date.now(), heldSite, site: newSite, tag });
      }
      const text =
        `lifeguard: pool "${this.name}": nested acquire at ${newSite ?? 'an unrecorded site'} while this async context ` +
        `already holds lease #${held.id} of the same pool (acquired at ${heldSite ?? 'an unrecorded site'}). ` +
        `When every connection is held by such callers, they all wait for each other: the nested-acquire deadlock. ` +
        `Pass the held client down instead of acquiring again.`;
      if (this.options.onNestedAcquire === 'throw') return new NestedAcquireError(text, this.name, heldSite, newSite);
      const key = `${heldSite}>${newSite}`;
      if (!this.#nestedSeen.has(key)) {
        if (this.#nestedSeen.size < 1000) this.#nestedSeen.add(key);
        safeLog(this.options.logger, 'warn', text);
      }
      return undefined;
    };
    // still inside the new call: its own line is on the stack now (a nested call is often returned, not awaited)
    if (site instanceof ScopedCall) site.captureNow();
    const both = [held, { site }];
    if (this.options.onNestedAcquire === 'throw') {
      return new Promise<never>((_, reject) => setImmediate(() => afterSites(both, () => reject(report()))));
    }
    setImmediate(() => afterSites(both, report));
    return undefined;
  }

  #wait(
    opts: AcquireOptions | undefined,
    site: SiteSource | undefined,
    tag: string | undefined,
    scope: Scope | undefined,
    track: boolean,
    nested: LeaseRecord<C> | undefined,
  ): Promise<Lease<C, F>> {
    const timeoutMs = opts?.timeoutMs ?? this.options.acquireTimeoutMs;
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    // callers beyond maxWaiting (not counting those a connection is on its way for) are refused at once
    if (this.#waiters.size >= this.options.maxWaiting + this.#openable() + this.#creating + this.#validating + this.#resetting) {
      return Promise.reject(this.#queueFullError());
    }
    return new Promise<Lease<C, F>>((resolve, reject) => {
      const now = performance.now();
      const w: Waiter<C, F> = {
        settled: false,
        resolve,
        reject,
        site,
        tag,
        scope,
        track,
        enqueuedAt: now,
        timeoutMs,
        deadline: now + timeoutMs,
        nestedHeld: nested,
        signal,
        // links of the waiter queue, present from the start so every waiter has one shape
        prev: undefined,
        next: undefined,
        tPrev: undefined,
        tNext: undefined,
      };
      this.#armTimer(w.deadline);
      if (signal !== undefined) this.#watchSignal(w, signal);
      this.#waiters.push(w);
      this.#dispatch();
      // exhausted: every connection is in use and none is on its way
      if (
        !w.settled &&
        !this.#exhausted &&
        this.#idle.length === 0 &&
        this.#openable() === 0 &&
        this.#creating + this.#validating + this.#resetting === 0
      ) {
        this.#exhausted = true;
        if (this.events.active) {
          this.#emit({ type: 'exhausted', pool: this.name, driver: this.kind, time: Date.now(), waiting: this.#waiters.size, max: this.options.max });
        }
      }
    });
  }

  /**
   * One timer per pool, armed for the earliest waiter deadline, instead of a timer
   * per waiter: waiters mostly share one timeout, so a new one rarely re-arms it.
   */
  #armTimer(deadline: number): void {
    if (this.#expiring) return;
    if (this.#timer !== undefined && this.#timerAt <= deadline) {
      // referenced while anyone waits: a caller waiting for a connection keeps the process alive
      this.#timer.ref?.();
      return;
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, deadline - performance.now()));
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#expiring = false;
    // also while closing: end() keeps serving queued callers, whose deadlines still hold
    if (this.#waiters.size === 0) return;
    // a timer may fire a little early: count anything within 1 ms as due
    const due = this.#waiters.takeDue(performance.now() + 1, EXPIRE_BATCH);
    if (due.length > 0) this.#expire(due);
    if (due.length === EXPIRE_BATCH) {
      // more may be due: let I/O and other timers run between batches
      this.#expiring = true;
      setImmediate(() => this.#onTimer());
      return;
    }
    const next = this.#waiters.nextDeadline();
    if (next !== Infinity) this.#armTimer(next);
  }

  /** One 'abort' listener per signal, however many waiting acquires share it. */
  #watchSignal(w: Waiter<C, F>, signal: AbortSignal): void {
    let entry = this.#signals.get(signal);
    if (entry === undefined) {
      const waiters = new Set<object>();
      const onAbort = (): void => {
        this.#signals.delete(signal);
        for (const x of waiters as Set<Waiter<C, F>>) {
          if (x.settled) continue;
          this.#waiters.cancel(x);
          x.signal = undefined;
          x.reject(signal.reason);
        }
        waiters.clear();
        this.#afterWaiterGone();
      };
      entry = { waiters, onAbort };
      this.#signals.set(signal, entry);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    entry.waiters.add(w);
  }

  #unwatchSignal(w: Waiter<C, F>): void {
    const signal = w.signal;
    if (signal === undefined) return;
    w.signal = undefined;
    const entry = this.#signals.get(signal);
    if (entry === undefined) return;
    entry.waiters.delete(w);
    if (entry.waiters.size === 0) {
      signal.removeEventListener('abort', entry.onAbort);
      this.#signals.delete(signal);
    }
  }

  #queueFullError(): QueueFullError {
    const snapshot = { active: this.#active, idle: this.#idle.length, waiting: this.#waiters.size, max: this.options.max };
    return new QueueFullError(
      `lifeguard: pool "${this.name}": ${snapshot.waiting} callers already wait for a connection (maxWaiting ${this.options.maxWaiting}; ` +
        `in use ${snapshot.active}/${snapshot.max}); refusing this acquire at once instead of queueing it`,
      { pool: this.name, maxWaiting: this.options.maxWaiting, snapshot },
    );
  }

  #rejectWaiter(w: Waiter<C, F>, err: unknown): void {
    w.settled = true;
    if (w.signal !== undefined) this.#unwatchSignal(w);
    this.#afterWaiterGone();
    w.reject(err);
  }

  /** The error an acquire gets while the circuit is open; undefined when it may proceed. */
  #circuitOpenError(): CircuitOpenError | undefined {
    const r = this.#breaker!.isOpen(performance.now());
    if (r === false) return undefined;
    if (r !== true) {
      this.#circuit(r);
      return undefined;
    }
    return this.#openError();
  }

  /** @internal the error a call gets while the circuit is open; undefined when it is not. */
  circuitOpenError(): CircuitOpenError | undefined {
    if (!this.#breakerTripped) return undefined;
    return this.#circuitOpenError();
  }

  #openError(): CircuitOpenError {
    const b = this.#breaker!;
    const s = b.state;
    const retryAfterMs = b.retryAfterMs(performance.now());
    return new CircuitOpenError(
      `lifeguard: pool "${this.name}": circuit open after repeated connection failures (last: ${s.kind === 'open' ? s.reason : 'unknown'}); ` +
        `failing fast, next probe in ${retryAfterMs} ms`,
      { pool: this.name, retryAfterMs, cause: this.#lastConnectError },
    );
  }

  /**
   * Feeds a failure to *open* a connection to the breaker (also for adapters' own
   * connections). Ignored while a connection of the pool works: the server is up, and
   * the breaker opens only when nothing works. The breaking of a connection that was
   * open is never fed: a restart or a kill of idle backends is handled by reconnecting.
   */
  connectionFailure(reason: string): void {
    if (this.#breaker === undefined || this.#hasWorking()) return;
    const t = this.#breaker.failure(performance.now(), reason);
    if (t !== undefined) this.#circuit(t);
  }

  /** Pooled connections open and not known to be broken. */
  #working(): number {
    let n = 0;
    for (const conn of this.#all) if (conn.broken === undefined) n++;
    return n;
  }

  #hasWorking(): boolean {
    return this.#working() > 0 || this.#hooks.hasWorkingConnection?.() === true;
  }

  /** True while the breaker is open or half-open (adapters fail fast on their own clients then). */
  get circuitTripped(): boolean {
    return this.#breakerTripped;
  }

  /** Reports a connection-level success (a connection opened, a health check passed). */
  connectionSuccess(): void {
    const t = this.#breaker?.success();
    if (t !== undefined) this.#circuit(t);
  }

  #circuit(t: Transition): void {
    this.#breakerTripped = t.to !== 'closed';
    if (circuitChannel.hasSubscribers) publishCircuit(this.name, this.kind, t.from, t.to, t.reason);
    if (this.events.active) {
      this.#emit({ type: 'circuit', pool: this.name, driver: this.kind, time: Date.now(), from: t.from, to: t.to, reason: t.reason });
    }
    safeLog(this.options.logger, t.to === 'open' ? 'warn' : 'info', `lifeguard: pool "${this.name}": circuit ${t.from} -> ${t.to}: ${t.reason}`);
    if (this.#breakerTimer !== undefined) {
      clearTimeout(this.#breakerTimer);
      this.#breakerTimer = undefined;
    }
    this.#onCircuit?.(t.to);
    if (t.to === 'open') {
      // waiters already queued fail now instead of sitting out their timeouts
      const err = this.#openError();
      for (const w of this.#waiters.drain()) this.#rejectWaiter(w, err);
      this.#breakerTimer = setTimeout(() => {
        this.#breakerTimer = undefined;
        if (!this.#closing) this.#circuitOpenError();
      }, this.#breaker!.retryAfterMs(performance.now()) + 1);
      this.#breakerTimer.unref?.();
    } else if (t.to === 'half-open') {
      // one probe: through a live connection when there is one, else a new connection;
      // its outcome closes or reopens the circuit
      this.#retryAt = 0;
      const live = this.#idle.pop();
      if (live !== undefined) this.#validate(live);
      else if (this.#creating === 0 && this.budget.tryTake('pooled')) this.#create();
    } else {
      this.#attempt = 0;
      this.#dispatch();
      this.#refillSpread();
    }
  }

  /**
   * After recovery, opens the connections `min` asks for one at a time with jittered
   * gaps, so that every pool of every process does not reconnect in the same instant.
   */
  #refillSpread(): void {
    if (!this.#behaviour.openMin || this.#closing || this.#breakerTripped || this.#all.size + this.#creating >= Math.min(this.options.min, this.#ceiling ?? Infinity)) {
      this.#refilling = false;
      return;
    }
    this.#refilling = true;
    const rc = this.options.reconnect;
    const timer = setTimeout(() => {
      // one at a time: not while another connection is being opened (for a waiter, say)
      if (
        !this.#closing &&
        !this.#breakerTripped &&
        this.#creating === 0 &&
        this.#all.size < Math.min(this.options.min, this.#ceiling ?? Infinity) &&
        this.budget.tryTake('pooled')
      ) {
        this.#create();
      }
      this.#refillSpread();
    }, fullJitter(2, rc.baseMs, rc.maxMs));
    timer.unref?.();
  }

  /**
   * ioredis `retryStrategy` for connections outside the pool: full-jitter backoff, a
   * `reconnect` event per attempt, `null` (give up) after `maxAttempts`.
   */
  retryStrategy(times: number): number | null {
    const rc = this.options.reconnect;
    if (rc.maxAttempts > 0 && times > rc.maxAttempts) return null;
    const delayMs = fullJitter(times, rc.baseMs, rc.maxMs);
    if (this.events.active) {
      this.#emit({ type: 'reconnect', pool: this.name, driver: this.kind, time: Date.now(), attempt: times, delayMs });
    }
    return delayMs;
  }

  // ---- health ------------------------------------------------------------------------

  #onHealthChange(healthy: boolean, detail: string | undefined): void {
    if (this.events.active) {
      this.#emit({ type: 'health', pool: this.name, driver: this.kind, time: Date.now(), healthy, detail });
    }
    safeLog(
      this.options.logger,
      healthy ? 'info' : 'warn',
      `lifeguard: pool "${this.name}" is ${healthy ? 'healthy again' : `unhealthy: ${detail ?? ''}`}`,
    );
  }

  /** How long one health check may take: min(intervalMs, connectTimeoutMs). */
  get healthCheckTimeoutMs(): number {
    const hc = this.options.healthCheck;
    return hc === false ? this.options.connectTimeoutMs : Math.min(hc.intervalMs, this.options.connectTimeoutMs);
  }

  /**
   * Checks the most recently used idle connection without leasing it and without
   * touching its idle clock, so idle connections still close on time and an idle
   * process can exit; within min(intervalMs, connectTimeoutMs). With no idle
   * connection there is nothing to check: connections in use show their health to
   * their users, and opening one only to check it would keep an idle process alive.
   */
  async #defaultHealthCheck(): Promise<void> {
    if (this.#closing) return;
    const conn = this.#idle.pop();
    if (conn === undefined) {
      // nothing to check: a pass, unless connecting is failing (a pass would close an open circuit unprobed)
      if (this.#attempt > 0 || this.#breakerTripped) throw new Error(`no connection works (${errorMessage(this.#lastConnectError ?? 'connecting is failing')})`);
      return;
    }
    this.#validating++;
    const timeoutMs = this.healthCheckTimeoutMs;
    let ok = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      ok = await Promise.race([
        this.#driver.validate(conn.raw).catch(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
          timer.unref?.();
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    this.#validating--;
    if (ok && conn.broken === undefined && !this.#closing) {
      this.#putBackIdle(conn);
      this.#dispatch();
    } else {
      this.#destroy(conn, ok ? (this.#closing ? 'close' : 'error') : 'validation-failed', conn.broken);
      this.#dispatch();
    }
    if (!ok) throw new Error(`the health check query got no answer within ${timeoutMs} ms`);
  }

  /** Puts a checked idle connection back where its idle clock says (the list is oldest first). */
  #putBackIdle(conn: Conn<C>): void {
    if (this.#waiters.size > 0) {
      this.#give(conn);
      return;
    }
    const idle = this.#idle;
    let i = idle.length;
    while (i > 0 && idle[i - 1]!.idleSince > conn.idleSince) i--;
    idle.splice(i, 0, conn);
    this.#armIdle();
  }

  #afterWaiterGone(): void {
    if (this.#waiters.size === 0) {
      this.#exhausted = false;
      // nobody waits: these timers must not keep an idle process alive
      this.#timer?.unref?.();
      this.#retryTimer?.unref?.();
      if (this.#closing) this.#checkDrained();
    }
  }

  /**
   * Rejects a batch of timed-out waiters (already out of the queue). The holders are
   * listed once per batch, not once per waiter: the text is the same for all of them.
   */
  #expire(due: readonly Waiter<C, F>[]): void {
    const now = performance.now();
    const recs = this.#leaseRecords();
    const failing = this.#lastConnectError !== undefined && this.#all.size < this.options.max;
    const waits: { w: Waiter<C, F>; waitedMs: number; snapshot: { active: number; idle: number; waiting: number; max: number } }[] = [];
    let holders: LeaseRecord<C>[] = recs;
    for (let i = 0; i < due.length; i++) {
      const w = due[i]!;
      if (w.signal !== undefined) this.#unwatchSignal(w);
      this.#timeouts++;
      const waitedMs = Math.round(now - w.enqueuedAt);
      const waiting = this.#waiters.size + due.length - i;
      waits.push({ w, waitedMs, snapshot: { active: this.#active, idle: this.#idle.length, waiting, max: this.options.max } });
      if (w.nestedHeld !== undefined && !recs.includes(w.nestedHeld)) holders = [...holders, w.nestedHeld];
      if (this.events.active) {
        this.#emit({
          type: 'acquire-timeout',
          pool: this.name,
          driver: this.kind,
          time: Date.now(),
          waitedMs,
          active: this.#active,
          idle: this.#idle.length,
          waiting,
          tag: w.tag,
        });
      }
    }
    this.#afterWaiterGone();
    // the holders' sites first (scoped calls capture theirs a microtask later), then the errors
    afterSites(holders, () => {
      const infos = recs.map((r) => leaseInfo(r, this.name, now, this.#siteCtx));
      if (infos.some((i) => i.noSite === 'not-sampled')) this.#escalate();
      const summary = holdersSummary(infos);
      // built from a timer, the stack would name only lifeguard and Node's timers, and
      // capturing it is most of an error's cost: the message is the report
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        for (const { w, waitedMs, snapshot } of waits) {
          const err = this.#timeoutError(w, waitedMs, summary, snapshot, failing);
          this.#logError(err.message); // rate-limited: a burst of timeouts is a few lines
          w.reject(err);
        }
      } finally {
        Error.stackTraceLimit = limit;
      }
    });
  }

  #timeoutError(
    w: Waiter<C, F>,
    waitedMs: number,
    summary: string,
    snapshot: { active: number; idle: number; waiting: number; max: number },
    failing: boolean,
  ): AcquireTimeoutError {
    const reason: AcquireTimeoutCause = this.#breakerTripped ? 'circuit-open' : failing ? 'connect-failing' : 'pool-full';
    let msg =
      `lifeguard: pool "${this.name}": timeout exceeded when trying to connect: no connection within ${w.timeoutMs} ms ` +
      `(in use ${snapshot.active}/${snapshot.max}, idle ${snapshot.idle}, waiting ${snapshot.waiting})`;
    const held = this.budget.held;
    const other = held.shared + held.dedicated + held.listener + held.subscriber;
    if (other > 0) {
      msg += `; budget ${this.options.max}: ${held.pooled} pooled, ${held.shared} shared, ${held.dedicated} dedicated, ${held.listener} listener, ${held.subscriber} subscriber`;
    }
    if (this.#breakerTripped) msg += `; the circuit is ${this.#breaker!.state.kind} after repeated connection failures`;
    if (failing) msg += `; connecting keeps failing: ${errorMessage(this.#lastConnectError)}`;
    msg += `; longest holders: ${summary}`;
    if (w.nestedHeld !== undefined) {
      msg +=
        `. The caller already holds lease #${w.nestedHeld.id} of this pool (acquired at ${siteOrReason(w.nestedHeld.site, this.#siteCtx)}): ` +
        `this is the nested-acquire deadlock; pass the held client down instead of acquiring again`;
    }
    return new AcquireTimeoutError(msg, {
      pool: this.name,
      waitedMs,
      reason,
      snapshot,
      nested: w.nestedHeld !== undefined,
      cause: failing ? this.#lastConnectError : undefined,
    });
  }

  /** Pops a usable idle connection; expired or stale ones are routed away. */
  #takeIdle(now: number): Conn<C> | undefined {
    const idle = this.#idle;
    while (idle.length > 0) {
      const conn = idle.pop()!;
      if (conn.broken !== undefined) {
        this.#destroy(conn, 'error', conn.broken);
      } else if (conn.expiresAt <= now) {
        this.#destroy(conn, 'lifetime', undefined);
      } else if (now - conn.idleSince > VALIDATE_AFTER_IDLE_MS) {
        this.#validate(conn);
      } else {
        return conn;
      }
    }
    return undefined;
  }

  #lease(
    conn: Conn<C>,
    site: SiteSource | undefined,
    tag: string | undefined,
    now: number,
    waitMs: number,
    scope: Scope | undefined,
    track: boolean,
  ): Lease<C, F> {
    conn.uses++;
    const rec = new LeaseRecord<C>(++this.#leaseSeq, this, conn, now, site, tag);
    conn.lease = rec;
    this.#active++;
    this.#acquired++;
    this.meter.wait.record(waitMs);
    const lease = new Lease<C, F>(rec, this);
    if (track) {
      if (scope !== undefined) {
        scope.held.push(rec);
        rec.scopeHeld = scope.held;
      }
      // Held strongly until the next sweep; only leases still out then are registered
      // for garbage-collection tracking (short leases never pay for it).
      if (this.#finalizer !== undefined) rec.handle = lease;
    }
    if (this.options.saturation !== false) this.#checkSaturation();
    this.#hooks.onAcquire?.(conn.raw, lease);
    if (this.events.active) {
      this.#emit({ type: 'acquire', pool: this.name, driver: this.kind, time: Date.now(), leaseId: rec.id, connectionId: conn.id, waitMs, tag });
    }
    return lease;
  }

  #grant(w: Waiter<C, F>, conn: Conn<C>, now: number = performance.now()): void {
    w.settled = true;
    if (w.signal !== undefined) this.#unwatchSignal(w);
    const lease = this.#lease(conn, w.site, w.tag, now, now - w.enqueuedAt, w.scope, w.track);
    this.#afterWaiterGone();
    w.resolve(lease);
  }

  /** Serves waiters from idle connections, then opens connections for the rest. */
  #dispatch(): void {
    if (this.#waiters.size > 0 && this.#idle.length > 0) {
      const now = performance.now();
      while (this.#waiters.size > 0) {
        const conn = this.#takeIdle(now);
        if (conn === undefined) break;
        this.#grant(this.#waiters.shift()!, conn, now);
      }
    }
    this.#grow();
  }

  #grow(): void {
    if (this.#closing && (!this.#serveWaiters || this.#waiters.size === 0)) return;
    if (this.#attempt > 0 || this.#breakerTripped) {
      // after a failure: one attempt at a time, after a full-jitter backoff, while callers wait or min asks for more
      if (this.#creating > 0 || (this.#waiters.size === 0 && (!this.#behaviour.openMin || this.#all.size >= this.options.min))) return;
      const wait = this.#retryAt - performance.now();
      if (wait > 0) {
        if (this.#retryTimer === undefined) {
          this.#retryTimer = setTimeout(() => {
            this.#retryTimer = undefined;
            this.#grow();
          }, wait);
          // referenced while callers wait for this retry; a refill of min alone keeps no process alive
          if (this.#waiters.size === 0) this.#retryTimer.unref?.();
        }
        return;
      }
      if (this.#breakerTripped && this.#breaker!.state.kind === 'open') return;
      if (this.budget.tryTake('pooled')) this.#create();
      return;
    }
    let need = this.#waiters.size - this.#creating - this.#validating - this.#resetting;
    while (need > 0 && this.#belowCeiling() && this.budget.tryTake('pooled')) {
      this.#create();
      need--;
    }
    if (need > 0 && this.#ceiling !== undefined && this.#all.size + this.#creating >= this.#ceiling) {
      // at the server's connection limit: the waiters are served by the live connections
      this.#armCeilingProbe();
      return;
    }
    // Permits held by dedicated connections: queue for the next one that frees up.
    if (need > 0 && this.#budgetWait === undefined && this.budget.held.pooled < this.options.max) {
      const ctrl = (this.#budgetWait = new AbortController());
      void this.budget.take('pooled', ctrl.signal).then((ok) => {
        if (this.#budgetWait === ctrl) this.#budgetWait = undefined;
        if (!ok) return;
        if (this.#closing || this.#waiters.size - this.#creating - this.#validating - this.#resetting <= 0) {
          this.budget.give('pooled');
        } else {
          this.#create();
        }
        this.#grow();
      });
    }
  }

  /** Room under the connection-limit ceiling; lets one probe through when one is due. */
  /** Connections the pool may still open: free budget permits, and no more than a connection ceiling allows. */
  #openable(): number {
    const free = this.budget.available;
    const c = this.#ceiling;
    return c === undefined ? free : Math.max(0, Math.min(free, c - this.#all.size - this.#creating));
  }

  #belowCeiling(): boolean {
    const c = this.#ceiling;
    if (c === undefined || this.#all.size + this.#creating < c) return true;
    if (this.#ceilingProbeDue && this.#creating === 0) {
      this.#ceilingProbeDue = false;
      this.#probeNext = true;
      return true;
    }
    return false;
  }

  #armCeilingProbe(): void {
    if (this.#ceilingTimer !== undefined || this.#ceilingProbeDue || this.#closing) return;
    const delay = Math.min(CEILING_PROBE_MAX_MS, CEILING_PROBE_MS * 2 ** Math.min(15, this.#ceilingRefusals));
    this.#ceilingTimer = setTimeout(() => {
      this.#ceilingTimer = undefined;
      this.#ceilingProbeDue = true;
      this.#grow();
    }, delay);
    this.#ceilingTimer.unref?.();
  }

  /**
   * The server refused a connection at its connection limit while the pool holds (or
   * is opening) others: the pool's size is capped where it is, the waiters are served
   * by the live connections, and a probe later tries for more room.
   */
  #limitReached(error: Error, probe: boolean): void {
    const ceiling = this.#working() + this.#creating;
    if (probe) this.#ceilingRefusals++;
    if (this.#ceiling === ceiling) return;
    const first = this.#ceiling === undefined;
    if (first) this.#ceilingRefusals = 0;
    this.#ceiling = ceiling;
    this.#ceilingEvent(error.message);
    if (first) {
      safeLog(
        this.options.logger,
        'warn',
        `lifeguard: pool "${this.name}": the server refused a connection at its connection limit (${error.message}); ` +
          `the pool keeps its ${ceiling} working connection${ceiling === 1 ? '' : 's'} (ceiling ${ceiling} of max ${this.options.max}) and probes for room`,
      );
    }
  }

  /** A connection opened beyond the ceiling: raise it, or lift it at max. */
  #raiseCeiling(): void {
    this.#ceilingRefusals = 0;
    if (this.#all.size < this.options.max) {
      this.#ceiling = this.#all.size;
      this.#ceilingEvent(undefined);
      return;
    }
    this.#ceiling = undefined;
    clearTimeout(this.#ceilingTimer);
    this.#ceilingTimer = undefined;
    this.#ceilingEvent(undefined);
    safeLog(this.options.logger, 'info', `lifeguard: pool "${this.name}": room again at the server: the connection-limit ceiling is lifted`);
  }

  #ceilingEvent(detail: string | undefined): void {
    if (this.events.active) {
      this.#emit({ type: 'ceiling', pool: this.name, driver: this.kind, time: Date.now(), ceiling: this.#ceiling, max: this.options.max, detail });
    }
  }

  #ensureMin(): void {
    // after an outage, refilling min waits for connecting to work again, then is spread out
    if (!this.#behaviour.openMin || this.#attempt > 0 || this.#breakerTripped || this.#refilling) return;
    while (
      !this.#closing &&
      this.#all.size + this.#creating < Math.min(this.options.min, this.#ceiling ?? Infinity) &&
      this.budget.tryTake('pooled')
    ) {
      this.#create();
    }
  }

  #create(): void {
    this.#creating++;
    const started = performance.now();
    const probe = this.#probeNext;
    this.#probeNext = false;
    const p = this.#driver.create().then(
      (raw) => {
        this.#creating--;
        this.#lastConnectError = undefined;
        this.#attempt = 0;
        const t = this.#breaker?.success();
        if (t !== undefined) this.#circuit(t);
        if (this.#closing && (!this.#serveWaiters || this.#waiters.size === 0)) {
          this.#track(this.#driver.destroy(raw).then(() => this.budget.give('pooled')));
          this.#checkDrained();
          return;
        }
        const now = performance.now();
        const life = this.options.maxLifetimeMs;
        const conn = new Conn<C>(++this.#connSeq, raw, now, life > 0 ? now + life - Math.random() * life * 0.1 : Infinity);
        this.#all.add(conn);
        if (life > 0) {
          const timer = setTimeout(() => this.#onLifetime(conn), conn.expiresAt - now);
          timer.unref?.();
          this.#lifetimeTimers.set(conn, timer);
        }
        this.#created++;
        this.meter.create.record(now - started);
        if (this.#ceiling !== undefined && this.#all.size > this.#ceiling) this.#raiseCeiling();
        this.#driver.watch(raw, (err) => this.#onBroken(conn, err), () => this.#onListen(conn));
        this.#hooks.onConnect?.(raw);
        if (this.events.active) {
          this.#emit({ type: 'connect', pool: this.name, driver: this.kind, time: Date.now(), connectionId: conn.id, durationMs: now - started });
        }
        this.#give(conn);
      },
      (thrown: unknown) => {
        this.#creating--;
        this.#connectFailures++;
        const err = toError(thrown);
        this.budget.give('pooled');
        const error = err;
        if (this.events.active) {
          this.#emit({ type: 'error', pool: this.name, driver: this.kind, time: Date.now(), error, connectionId: undefined });
        }
        // the drivers know the values they threw (a hook's rejection need not be an Error)
        const limit = this.#driver.isLimitError?.(thrown) === true;
        if (limit && this.#working() + this.#creating > 0) {
          // the server's connection limit, while other connections of the pool work: a ceiling, not an outage
          this.#limitReached(error, probe);
          this.#grow();
          if (this.#closing) this.#checkDrained();
          return;
        }
        if (this.#driver.isConnectFailure?.(thrown) === false) {
          // the server and network work (the application's connect hook failed): the caller
          // it was opened for gets that error; no backoff, nothing for the breaker
          if (this.#waiters.size > this.#creating + this.#validating + this.#resetting) {
            this.#rejectWaiter(this.#waiters.shift()!, err);
          }
          this.#logError(`lifeguard: pool "${this.name}": a new connection was refused by its connect hook: ${error.message}`);
          this.#grow();
          if (this.#closing) this.#checkDrained();
          return;
        }
        this.#lastConnectError = err;
        this.#logError(`lifeguard: pool "${this.name}": could not open a connection: ${error.message}`);
        const now = performance.now();
        // attempts already under way when the last failure was seen fail for the same reason: one event, not N
        const counted = started > this.#failSeenAt;
        this.#failSeenAt = now;
        // A pool that never connected (a wrong address, say), or refused at the connection limit, fails a
        // waiter per failure with that error instead of letting it hang. A pool that worked rides out an
        // outage: its waiters wait for the reconnect until the circuit opens or their timeout passes.
        if ((this.#created === 0 || limit) && this.#waiters.size > this.#creating + this.#validating + this.#resetting) {
          this.#rejectWaiter(this.#waiters.shift()!, err);
        }
        if (counted) {
          if (this.#attempt === 0) this.#downSince = now;
          const attempt = ++this.#attempt;
          const rc = this.options.reconnect;
          if (rc.maxAttempts > 0 && attempt >= rc.maxAttempts) {
            // given up for this outage: the waiters get the error, the next acquire starts over
            for (const w of this.#waiters.drain()) this.#rejectWaiter(w, err);
            this.#attempt = 0;
          } else {
            // never longer than half the outage so far: a short one (a restart) is retried soon after it ends
            const delayMs = Math.min(fullJitter(attempt, rc.baseMs, rc.maxMs), Math.max(rc.baseMs, Math.round((now - this.#downSince) / 2)));
            this.#retryAt = now + delayMs;
            if (this.events.active) {
              this.#emit({ type: 'reconnect', pool: this.name, driver: this.kind, time: Date.now(), attempt, delayMs });
            }
          }
          this.connectionFailure(error.message);
        }
        this.#grow();
        if (this.#closing) this.#checkDrained();
      },
    );
    this.#track(p);
  }

  #validate(conn: Conn<C>): void {
    this.#validating++;
    const p = this.#driver.validate(conn.raw).then(
      (ok) => ok,
      () => false,
    ).then((ok) => {
      this.#validating--;
      if (ok && conn.broken === undefined) {
        conn.idleSince = performance.now();
        // a live connection answered: the half-open probe succeeded
        if (this.#breakerTripped) this.connectionSuccess();
        this.#give(conn);
      } else {
        this.#destroy(conn, 'validation-failed', conn.broken);
        if (this.#breakerTripped) this.connectionFailure('the probe through a live connection failed');
        this.#dispatch();
      }
    });
    this.#track(p);
  }

  /** A free connection goes to the oldest waiter, else back to idle. */
  #give(conn: Conn<C>, now?: number): void {
    if (this.#closing && (!this.#serveWaiters || this.#waiters.size === 0)) {
      this.#destroy(conn, 'close', undefined);
      return;
    }
    const w = this.#waiters.size > 0 ? this.#waiters.shift() : undefined;
    if (w !== undefined) {
      this.#grant(w, conn, now);
    } else if (this.budget.waitingNonPooled > 0) {
      // a subscriber, listener or dedicated connection waits for a permit: make room
      this.#destroy(conn, 'budget', undefined);
    } else {
      conn.idleSince = now ?? performance.now();
      this.#idle.push(conn);
      if (this.#idleTimer === undefined) this.#armIdle();
    }
  }

  /**
   * Arms the idle-eviction timer for the oldest idle connection (the list is oldest
   * first), when idle connections above `min` can time out. Unreferenced: an idle
   * connection's own socket decides whether the process stays alive (pg.Pool's
   * `allowExitOnIdle`), and closing it lets the process exit.
   */
  #armIdle(): void {
    const timeoutMs = this.options.idleTimeoutMs;
    if (timeoutMs <= 0 || this.#idleTimer !== undefined || this.#idle.length === 0 || this.#all.size <= this.options.min) return;
    const due = this.#idle[0]!.idleSince + timeoutMs - performance.now();
    this.#idleTimer = setTimeout(() => this.#onIdleTimer(), Math.max(0, due));
    this.#idleTimer.unref?.();
  }

  #onIdleTimer(): void {
    this.#idleTimer = undefined;
    const timeoutMs = this.options.idleTimeoutMs;
    // a timer may fire a little early: count anything within 1 ms as due
    const now = performance.now() + 1;
    const idle = this.#idle;
    while (idle.length > 0 && this.#all.size > this.options.min && now - idle[0]!.idleSince >= timeoutMs) {
      this.#destroy(idle.shift()!, 'idle', undefined);
    }
    this.#armIdle();
  }

  /** Closes an idle connection when its lifetime ends; one in use is closed at release. */
  #onLifetime(conn: Conn<C>): void {
    this.#lifetimeTimers.delete(conn);
    const i = this.#idle.indexOf(conn);
    if (i === -1) return;
    this.#idle.splice(i, 1);
    this.#destroy(conn, 'lifetime', undefined);
  }

  /** Closes one idle connection so its budget permit goes to whoever waits for one. */
  shedIdle(): boolean {
    const conn = this.#idle.shift();
    if (conn === undefined) return false;
    this.#destroy(conn, 'budget', undefined);
    return true;
  }

  // ---- release -----------------------------------------------------------------

  /** @internal */
  releaseLease(rec: LeaseRecord<C>, error: unknown, entry: Entry | undefined): void {
    if (rec.released) {
      // its connection died and the pool already took it back: nothing left to release
      if (rec.died !== undefined) return;
      this.usedAfterRelease(rec, 'release of');
    }
    rec.released = true;
    // Where a user released it, for LeaseReleasedError: a second capture per lease, so only
    // in 'always' mode (tests, development); sampled mode names the acquisition site only.
    if (entry !== undefined && rec.site !== undefined && this.#captureAlways) rec.releaseSite = captureSite(entry, 3);
    else if (entry !== undefined) rec.releaseNote = RELEASE_NOT_RECORDED;
    const now = performance.now();
    this.#finish(rec, now);
    const conn = rec.conn;
    const failed = error !== undefined && error !== false && error !== null;
    const reset = failed || conn.broken !== undefined ? undefined : this.#driver.dirtyReason(conn.raw);
    // the release is reported before the connection can go to the next waiter
    this.#hooks.onRelease?.(error, conn.raw);
    if (this.events.active) {
      this.#emit({
        type: 'release',
        pool: this.name,
        driver: this.kind,
        time: Date.now(),
        leaseId: rec.id,
        connectionId: conn.id,
        heldMs: now - rec.acquiredAt,
        tag: rec.tag,
        reset,
      });
    }
    if (failed) {
      this.#destroy(conn, 'released-with-error', error === true ? undefined : errorMessage(error));
    } else if (conn.broken !== undefined) {
      this.#destroy(conn, 'error', conn.broken);
    } else if (reset !== undefined) {
      // closed under the holder (a FATAL, a dead socket) or by the user: nothing to reset, out of the pool now
      if (reset.startsWith('connection') || this.#driver.isClosed?.(conn.raw) === true) this.#destroy(conn, 'error', reset);
      else this.#reset(conn, reset);
    } else if (conn.expiresAt <= now) {
      this.#destroy(conn, 'lifetime', undefined);
    } else if (this.options.maxUses > 0 && conn.uses >= this.options.maxUses) {
      this.#destroy(conn, 'max-uses', undefined);
    } else {
      this.#give(conn, now);
    }
    // after the hand-over, so a connection passed straight to a waiter is no dip
    if (this.options.saturation !== false) this.#checkSaturation();
  }

  /** Takes a record out of the lease table (release, loss or force). */
  #finish(rec: LeaseRecord<C>, now: number): void {
    this.#active--;
    if (rec.listening) this.budget.move('listener', 'pooled');
    rec.conn.lease = undefined;
    rec.handle = undefined;
    this.#released++;
    this.meter.use.record(now - rec.acquiredAt);
    const held = rec.scopeHeld;
    if (held !== undefined) {
      const i = held.lastIndexOf(rec);
      if (i !== -1) held.splice(i, 1);
    }
    if (rec.reported) {
      const info = leaseInfo(rec, this.name, now, this.#siteCtx);
      if (this.events.active) {
        this.#emit({ type: 'leak-resolved', pool: this.name, driver: this.kind, time: Date.now(), lease: info, heldMs: now - rec.acquiredAt });
      }
      safeLog(this.options.logger, 'info', `lifeguard: pool "${this.name}": leaked lease #${rec.id} came back after ${formatDuration(now - rec.acquiredAt)}`);
    }
    if (this.#closing) this.#checkDrained();
  }

  /** While closing: wakes `close()` once nothing is out, waiting or being opened. */
  #checkDrained(): void {
    const wake = this.#onDrained;
    if (wake === undefined) return;
    if (this.#forceClose || (this.#active === 0 && this.#waiters.size === 0 && (!this.#serveWaiters || this.#creating === 0))) {
      this.#onDrained = undefined;
      wake();
    }
  }

  /** The outstanding leases, oldest first. */
  #leaseRecords(): LeaseRecord<C>[] {
    const out: LeaseRecord<C>[] = [];
    for (const conn of this.#all) if (conn.lease !== undefined) out.push(conn.lease);
    return out.sort((a, b) => a.id - b.id);
  }

  #reset(conn: Conn<C>, reason: string): void {
    this.#resetting++;
    const p = this.#driver.reset(conn.raw, reason).then(
      (done) => done,
      () => undefined,
    ).then((done) => {
      this.#resetting--;
      if (done !== undefined && conn.broken === undefined) this.#give(conn);
      else this.#destroy(conn, 'dirty', reason);
      this.#dispatch();
    });
    this.#track(p);
  }

  /** @internal */
  usedAfterRelease(rec: LeaseRecord<C>, what: string): never {
    throw new LeaseReleasedError({
      pool: this.name,
      leaseId: rec.id,
      what,
      acquiredAt: describeSite(rec.site, this.#siteCtx).site,
      releasedAt: formatSite(rec.releaseSite) ?? rec.releaseNote,
      died: rec.died,
    });
  }

  /** @internal */
  describeSite(rec: LeaseRecord<C>): string | undefined {
    return describeSite(rec.site, this.#siteCtx).site;
  }

  /** The raw connection of a lease, for an adapter's own fast paths (`pool.query`). */
  rawOf(lease: Lease<C, F>): C {
    return lease[kRecord].conn.raw;
  }

  /** Ends a lease from lifeguard's own code (no release-site capture); a no-op once it is released. */
  endLease(lease: Lease<C, F>, error: unknown): void {
    const rec = lease[kRecord];
    if (!rec.released) this.releaseLease(rec, error, undefined);
  }

  /** Releases a lease from a user's release function `entry` (its line is the release site). */
  releaseFrom(lease: Lease<C, F>, error: unknown, entry: Entry): void {
    this.releaseLease(lease[kRecord], error, entry);
  }

  /** Stops garbage-collection tracking of a lease whose handle the pool keeps anyway (pg `connect()`). */
  untrack(lease: Lease<C, F>): void {
    lease[kRecord].handle = undefined;
  }

  /** @internal */
  wrapLease(rec: LeaseRecord<C>, lease: Lease<C, F>): F {
    return this.#driver.wrap(rec.conn.raw, lease);
  }

  // ---- connection loss and destruction -----------------------------------------

  #onBroken(conn: Conn<C>, err: Error | undefined): void {
    const first = conn.broken === undefined;
    if (first) conn.broken = err?.message ?? 'connection closed';
    if (!this.#all.has(conn)) return;
    if (first && err !== undefined) {
      if (this.events.active) {
        this.#emit({ type: 'error', pool: this.name, driver: this.kind, time: Date.now(), error: err, connectionId: conn.id });
      }
      this.#hooks.onError?.(err, conn.raw, conn.lease === undefined);
      this.#logError(`lifeguard: pool "${this.name}": connection #${conn.id} failed: ${err.message}; it will be replaced`);
      // not fed to the breaker: a connection that was open broke (restart, kill); reconnecting handles it
    }
    const rec = conn.lease;
    if (rec !== undefined) {
      // An 'error' on a connection whose socket is still open goes to its holder (as with
      // pg.Pool) and the connection is destroyed at release; once the socket is gone the
      // lease turns dead and its permit is freed now, not when the holder releases it (or
      // never): a waiter is served by a new connection.
      if (rec.released || (err !== undefined && this.#driver.isClosed?.(conn.raw) !== true)) return;
      rec.released = true;
      rec.died = conn.broken;
      rec.releaseNote = `the pool: its connection died (${conn.broken})`;
      this.#finish(rec, performance.now());
      this.#destroy(conn, 'error', conn.broken);
      if (this.options.saturation !== false) this.#checkSaturation();
      return;
    }
    const i = this.#idle.indexOf(conn);
    if (i !== -1) {
      this.#idle.splice(i, 1);
      this.#destroy(conn, 'error', conn.broken);
    }
  }

  /**
   * `LISTEN` ran on a leased connection: the lease is a long-lived listener from now
   * on (no held-too-long report; counted as a listener in the budget).
   */
  #onListen(conn: Conn<C>): void {
    const rec = conn.lease;
    if (rec === undefined || rec.listening) return;
    rec.listening = true;
    this.budget.move('pooled', 'listener');
  }

  #destroy(conn: Conn<C>, reason: DestroyReason, detail: string | undefined): void {
    if (!this.#all.delete(conn)) return;
    this.#destroyed[reason]++;
    if (this.events.active) {
      this.#emit({ type: 'destroy', pool: this.name, driver: this.kind, time: Date.now(), connectionId: conn.id, reason, detail });
    }
    const lifetime = this.#lifetimeTimers.get(conn);
    if (lifetime !== undefined) {
      clearTimeout(lifetime);
      this.#lifetimeTimers.delete(conn);
    }
    this.#hooks.onRemove?.(conn.raw, reason);
    const p = this.#driver.destroy(conn.raw).then(
      () => this.#afterDestroy(),
      () => this.#afterDestroy(),
    );
    this.#track(p);
  }

  #afterDestroy(): void {
    // The permit comes back only once the socket is closed: the server never sees more than max.
    this.budget.give('pooled');
    this.#dispatch();
    this.#ensureMin();
    this.#armIdle();
  }

  #track(p: Promise<unknown>): void {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  #logError(message: string): void {
    const s = this.#errorLog.take(performance.now());
    if (s >= 0) safeLog(this.options.logger, 'warn', s > 0 ? `${message} (${s} similar lines suppressed)` : message);
  }

  // ---- leaks ----------------------------------------------------------------------

  #onLost(rec: LeaseRecord<C>): void {
    if (rec.released) return;
    rec.released = true;
    rec.releaseNote = 'garbage collection (never released)';
    const now = performance.now();
    const info = leaseInfo(rec, this.name, now, this.#siteCtx);
    this.#finish(rec, now);
    this.#checkSaturation();
    this.#reportLeak('lost', info);
    this.#destroy(rec.conn, 'lost', undefined);
  }

  #reportLeak(kind: 'held-too-long' | 'lost' | 'unreleased-at-close', info: LeaseInfo): void {
    if (info.noSite === 'not-sampled') this.#escalate();
    this.meter.leaks[kind]++;
    if (leakChannel.hasSubscribers) publishLeak(this.name, this.kind, kind, info);
    if (this.events.active) {
      this.#emit({ type: 'leak', pool: this.name, driver: this.kind, time: Date.now(), kind, lease: info });
    }
    const s = this.#leakLog.take(performance.now());
    if (s >= 0) safeLog(this.options.logger, 'warn', leakBlock(kind, this.kind, info, s));
  }

  #sweep(): void {
    const now = performance.now();
    if (this.#escalatedUntil !== 0 && now > this.#escalatedUntil) this.#escalatedUntil = 0;
    const ld = this.options.leakDetection;
    if (ld !== false) {
      let due: LeaseRecord<C>[] | undefined;
      for (const rec of this.#leaseRecords()) {
        if (rec.handle !== undefined) {
          this.#finalizer!.register(rec.handle, rec);
          rec.handle = undefined;
        }
        const age = now - rec.acquiredAt;
        // a scoped call out for a sweep period or more takes its site now, so leases() and reports have it
        if (age >= this.#sweepMs && rec.site instanceof ScopedCall) rec.site.wake();
        if (!rec.reported && !rec.listening && age >= ld.thresholdMs) {
          rec.reported = true;
          (due ??= []).push(rec);
        }
      }
      if (due !== undefined) {
        const reported = due;
        afterSites(reported, () => {
          const at = performance.now();
          for (const rec of reported) this.#reportLeak('held-too-long', leaseInfo(rec, this.name, at, this.#siteCtx));
        });
      }
    }
    this.#ensureMin();
  }

  #checkSaturation(): void {
    const sat = this.options.saturation;
    if (sat === false) return;
    const u = this.#active / this.options.max;
    const level = u >= sat.critical ? 2 : u >= sat.warn ? 1 : 0;
    if (level === this.#satLevel) return;
    this.#satLevel = level;
    const name = level === 2 ? 'critical' : level === 1 ? 'warn' : 'ok';
    if (this.events.active) {
      this.#emit({ type: 'saturation', pool: this.name, driver: this.kind, time: Date.now(), level: name, utilization: u });
    }
    // no log line: a pool in full use is not news (the event says it); what users act on is
    // logged where it happens (acquire timeouts, leaks, connection failures)
  }

  #emit(e: LifeguardEvent): void {
    this.events.emit(e);
  }

  // ---- reports -------------------------------------------------------------------

  /** Outstanding leases, oldest first. */
  leases(): LeaseInfo[] {
    const now = performance.now();
    const recs = this.#leaseRecords();
    // scoped calls not yet attributed capture their site a microtask from now
    afterSites(recs, noop);
    return recs.map((r) => leaseInfo(r, this.name, now, this.#siteCtx));
  }

  get closing(): boolean {
    return this.#closing;
  }

  /** @internal called with the new state on every breaker change. */
  set onCircuit(fn: ((to: CircuitState) => void) | undefined) {
    this.#onCircuit = fn;
  }

  get total(): number {
    return this.#all.size;
  }
  get idleCount(): number {
    return this.#idle.length;
  }
  get waitingCount(): number {
    return this.#waiters.size;
  }
  /** Connections being opened, checked or reset: callers beyond these wait for capacity. */
  get preparingCount(): number {
    return this.#creating + this.#validating + this.#resetting;
  }
  /** Connections being opened. */
  get creatingCount(): number {
    return this.#creating;
  }
  /** The pooled connections, for adapters that expose them (pg.Pool's `_clients`). */
  connections(): C[] {
    const out: C[] = [];
    for (const conn of this.#all) out.push(conn.raw);
    return out;
  }
  get activeCount(): number {
    return this.#active;
  }

  stats(): PoolStats {
    const held = this.budget.held;
    return {
      name: this.name,
      driver: this.kind,
      max: this.options.max,
      min: this.options.min,
      total: this.#all.size,
      active: this.#active,
      idle: this.#idle.length,
      pending: this.#waiters.size,
      creating: this.#creating,
      acquired: this.#acquired,
      released: this.#released,
      created: this.#created,
      destroyed: { ...this.#destroyed },
      timeouts: this.#timeouts,
      connectFailures: this.#connectFailures,
      waitMs: this.meter.wait.summary(),
      heldMs: this.meter.use.summary(),
      circuit: this.#breaker?.state.kind ?? 'closed',
      healthy: this.#health?.healthy ?? true,
      reconnectAttempt: this.#attempt,
      ceiling: this.#ceiling,
      budget: { available: this.budget.available, ...held },
    };
  }

  /**
   * Forces every outstanding lease back: each connection is closed (its state is
   * unknown) and later use of the lease throws `LEASE_RELEASED` with `note`.
   * Returns what was reclaimed. For test suites, after a leak was reported.
   */
  reclaim(note: string): LeaseInfo[] {
    const now = performance.now();
    const out: LeaseInfo[] = [];
    for (const rec of this.#leaseRecords()) {
      out.push(leaseInfo(rec, this.name, now, this.#siteCtx));
      rec.released = true;
      rec.releaseNote = note;
      this.#finish(rec, now);
      this.#destroy(rec.conn, 'released-with-error', note);
    }
    if (out.length > 0) this.#checkSaturation();
    return out;
  }

  // ---- close -----------------------------------------------------------------------

  /**
   * Stops new acquires (`POOL_CLOSED`), rejects waiters (unless `serveWaiters`), waits
   * up to `timeoutMs` (default 10 s; `Infinity`: as long as it takes) for leases to come
   * back, then forces the rest and closes every connection. A second call returns the
   * same promise; one with a finite `timeoutMs` after an unbounded first one bounds it.
   */
  close(opts?: CloseOptions): Promise<CloseResult> {
    const timeoutMs = opts?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    if (timeoutMs !== Infinity && (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_DURATION_MS)) {
      return Promise.reject(
        new ConfigError(
          `lifeguard: pool "${this.name}": close option timeoutMs must be an integer from 0 to ${MAX_DURATION_MS} or Infinity, got ${describeValue(timeoutMs)}`,
          { pool: this.name, option: 'timeoutMs' },
        ),
      );
    }
    if (this.#closePromise) {
      if (timeoutMs !== Infinity) this.#armForce(timeoutMs);
      return this.#closePromise;
    }
    this.#closing = true;
    this.#serveWaiters = opts?.serveWaiters === true;
    closeMeter(this.meter);
    clearInterval(this.#sweeper);
    this.#health?.stop();
    clearTimeout(this.#breakerTimer);
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    clearTimeout(this.#ceilingTimer);
    if (!this.#serveWaiters) {
      clearTimeout(this.#retryTimer);
      this.#budgetWait?.abort();
      if (this.#timer !== undefined) clearTimeout(this.#timer);
      this.#rejectAllWaiters();
    } else {
      this.#dispatch();
    }
    for (const conn of this.#idle.splice(0)) this.#destroy(conn, 'close', undefined);
    if (timeoutMs !== Infinity) this.#armForce(timeoutMs);
    this.#closePromise = this.#closeRest();
    return this.#closePromise;
  }

  #rejectAllWaiters(): void {
    for (const w of this.#waiters.drain()) {
      w.settled = true;
      if (w.signal !== undefined) this.#unwatchSignal(w);
      w.reject(new PoolClosedError(this.name));
    }
    this.#afterWaiterGone();
  }

  /** Forces outstanding leases back `timeoutMs` from now (the earliest of several calls wins). */
  #armForce(timeoutMs: number): void {
    const at = performance.now() + timeoutMs;
    if (this.#forceClose || this.#closeDone || at >= this.#forceAt) return;
    clearTimeout(this.#forceTimer);
    this.#forceAt = at;
    this.#forceTimer = setTimeout(() => {
      this.#forceClose = true;
      this.#checkDrained();
    }, timeoutMs);
  }

  async #closeRest(): Promise<CloseResult> {
    while (!this.#forceClose && (this.#active > 0 || this.#waiters.size > 0 || (this.#serveWaiters && this.#creating > 0))) {
      await new Promise<void>((resolve) => {
        this.#onDrained = resolve;
        this.#checkDrained();
      });
    }
    clearTimeout(this.#forceTimer);
    this.#onDrained = undefined;
    this.#serveWaiters = false;
    clearTimeout(this.#retryTimer);
    this.#budgetWait?.abort();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#rejectAllWaiters();
    const forced: LeaseInfo[] = [];
    const recs = this.#leaseRecords();
    await new Promise<void>((resolve) => afterSites(recs, resolve));
    const now = performance.now();
    for (const rec of recs) {
      if (rec.released) continue;
      const info = leaseInfo(rec, this.name, now, this.#siteCtx);
      rec.released = true;
      rec.releaseNote = 'pool close (forced)';
      this.#finish(rec, now);
      this.#reportLeak('unreleased-at-close', info);
      this.#destroy(rec.conn, 'close', 'forced by close()');
      forced.push(info);
    }
    for (const conn of this.#idle.splice(0)) this.#destroy(conn, 'close', undefined);
    // Connections being opened or closed get until the close deadline (with no deadline,
    // one connect timeout; at least a short grace), then their sockets are cut.
    const deadline = this.#forceAt === Infinity ? performance.now() + this.options.connectTimeoutMs : this.#forceAt;
    await this.#settle(Math.max(deadline, performance.now() + CLOSE_GRACE_MS));
    if (this.#inflight.size > 0) {
      this.#driver.forceClose?.();
      await this.#settle(performance.now() + CLOSE_GRACE_MS);
    }
    this.#closeDone = true;
    return { forced };
  }

  /** Waits for the connection work in flight, until `until` at the latest. */
  async #settle(until: number): Promise<void> {
    while (this.#inflight.size > 0) {
      const left = until - performance.now();
      if (left <= 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inflight]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, left);
        }),
      ]);
      clearTimeout(timer);
    }
  }
}

function noop(): void {}

function errorMessage(err: unknown): string {
  return describeValue(err);
}

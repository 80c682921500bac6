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
  type AcquireTimeoutCause,
} from './errors.js';
import type { CircuitState, DestroyReason, DriverKind, EventHub, LeaseInfo, LifeguardEvent } from './events.js';
import { Conn, Lease, LeaseRecord, type LeaseOwner, kRecord } from './lease.js';
import { type SiteContext, type SiteSource, afterSites, describeSite, formatDuration, holdersSummary, leakBlock, leaseInfo, siteOrReason } from './leaks.js';
import { LogLimiter, safeLog } from './logger.js';
import type { AcquireOptions, ResolvedCommonOptions } from './options.js';
import { type Percentiles, Samples } from './samples.js';
import { ScopedCall } from './scoped.js';
import { captureSite, formatSite, type SiteHolder } from './site.js';
import { WaiterQueue } from './waiters.js';

/** A connection idle longer than this is checked before it is handed out. */
export const VALIDATE_AFTER_IDLE_MS = 1000;
const RELEASE_NOT_RECORDED = "an unrecorded site (release sites are captured with leakDetection.captureStacks 'always')";
/** The tag of the health check's own short lease; leak reports leave it out. */
export const HEALTH_CHECK_TAG = 'lifeguard:health-check';
/** How long `close()` waits for leases by default before forcing them. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
/** After a leak or timeout with no site, every acquire is captured for this long (sampled mode). */
const ESCALATE_MS = 60_000;

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
  /** Time callers waited for a lease, ms (latest 1,024). */
  readonly waitMs: Percentiles;
  /** Time leases were held, ms (latest 1,024). */
  readonly heldMs: Percentiles;
  /** Circuit breaker state (`closed` when the breaker is off). */
  readonly circuit: CircuitState;
  /** Result of the health checks (true until `failureThreshold` checks in a row fail). */
  readonly healthy: boolean;
  /** Consecutive failed connection attempts (0 when connecting works). */
  readonly reconnectAttempt: number;
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
  onRemove?(conn: C): void;
  onError?(error: Error, conn: C): void;
  /** Replaces the default health check (a validated pooled connection); rejects when unhealthy. */
  healthCheck?(): Promise<void>;
}

interface Waiter<C, F> {
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
  onAbort: (() => void) | undefined;
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
  readonly #waitSamples = new Samples();
  readonly #heldSamples = new Samples();

  #exhausted = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
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
  readonly #health: HealthMonitor | undefined;

  #closing = false;
  #closePromise: Promise<CloseResult> | undefined;
  #onDrained: (() => void) | undefined;
  readonly #sweeper: ReturnType<typeof setInterval>;
  readonly #sweepMs: number;

  constructor(driver: Driver<C, F>, options: ResolvedCommonOptions, events: EventHub, hooks: PoolHooks<C, F> = {}) {
    this.name = options.name;
    this.kind = driver.kind;
    this.options = options;
    this.#driver = driver;
    this.#hooks = hooks;
    this.events = events;
    this.budget = new Budget(options.max);
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
    if (options.idleTimeoutMs > 0) periods.push(options.idleTimeoutMs / 2);
    if (ld !== false) periods.push(ld.thresholdMs / 2);
    this.#sweepMs = Math.max(5, Math.min(...periods));
    this.#sweeper = setInterval(() => this.#sweep(), this.#sweepMs);
    this.#sweeper.unref();
    const cb = options.circuitBreaker;
    this.#breaker = cb === false ? undefined : new Breaker(cb.failureThreshold, cb.resetTimeoutMs);
    const hc = options.healthCheck;
    this.#health =
      hc === false
        ? undefined
        : new HealthMonitor(hc, {
            check: () => (hooks.healthCheck ? hooks.healthCheck() : this.#defaultHealthCheck()),
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
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
      return Promise.reject(
        new ConfigError(`lifeguard: pool "${this.name}": acquire option timeoutMs must be an integer >= 1, got ${String(timeoutMs)}`, {
          pool: this.name,
          option: 'timeoutMs',
        }),
      );
    }
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
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
        onAbort: undefined,
      };
      this.#armTimer(w.deadline);
      if (signal !== undefined) {
        w.onAbort = () => {
          if (w.settled) return;
          this.#waiters.cancel(w);
          reject(signal.reason);
          this.#afterWaiterGone();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.#waiters.push(w);
      this.#dispatch();
      // exhausted: every connection is in use and none is on its way
      if (
        !w.settled &&
        !this.#exhausted &&
        this.#idle.length === 0 &&
        this.budget.available === 0 &&
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
    if (this.#timer !== undefined && this.#timerAt <= deadline) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, deadline - performance.now()));
    this.#timer.unref?.();
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#waiters.size === 0) return;
    // a timer may fire a little early: count anything within 1 ms as due
    const now = performance.now() + 1;
    let next = Infinity;
    const due: Waiter<C, F>[] = [];
    this.#waiters.forEach((w) => {
      if (w.deadline <= now) due.push(w);
      else if (w.deadline < next) next = w.deadline;
    });
    for (const w of due) this.#onWaiterTimeout(w);
    if (next !== Infinity) this.#armTimer(next);
  }

  #rejectWaiter(w: Waiter<C, F>, err: unknown): void {
    w.settled = true;
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
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

  /** Feeds a connection-level failure to the breaker (also for adapters' own connections). */
  connectionFailure(reason: string): void {
    const t = this.#breaker?.failure(performance.now(), reason);
    if (t !== undefined) this.#circuit(t);
  }

  /** Reports a connection-level success (a connection opened, a health check passed). */
  connectionSuccess(): void {
    const t = this.#breaker?.success();
    if (t !== undefined) this.#circuit(t);
  }

  #circuit(t: Transition): void {
    this.#breakerTripped = t.to !== 'closed';
    if (this.events.active) {
      this.#emit({ type: 'circuit', pool: this.name, driver: this.kind, time: Date.now(), from: t.from, to: t.to, reason: t.reason });
    }
    safeLog(this.options.logger, t.to === 'open' ? 'warn' : 'info', `lifeguard: pool "${this.name}": circuit ${t.from} -> ${t.to}: ${t.reason}`);
    if (this.#breakerTimer !== undefined) {
      clearTimeout(this.#breakerTimer);
      this.#breakerTimer = undefined;
    }
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
      // one probe: open a connection now; its outcome closes or reopens the circuit
      this.#retryAt = 0;
      if (this.#creating === 0 && this.budget.tryTake('pooled')) this.#create();
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
    if (this.#closing || this.#breakerTripped || this.#all.size + this.#creating >= this.options.min) {
      this.#refilling = false;
      return;
    }
    this.#refilling = true;
    const rc = this.options.reconnect;
    const timer = setTimeout(() => {
      if (!this.#closing && !this.#breakerTripped && this.#all.size + this.#creating < this.options.min && this.budget.tryTake('pooled')) {
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

  async #defaultHealthCheck(): Promise<void> {
    const lease = await this.acquire({ timeoutMs: this.options.connectTimeoutMs, tag: HEALTH_CHECK_TAG }, undefined, false);
    const rec = lease[kRecord];
    let ok = false;
    try {
      ok = await this.#driver.validate(rec.conn.raw);
    } finally {
      if (!rec.released) this.releaseLease(rec, ok ? undefined : true, undefined);
    }
    if (!ok) throw new Error('the health check query failed');
  }

  #afterWaiterGone(): void {
    if (this.#waiters.size === 0) this.#exhausted = false;
  }

  #onWaiterTimeout(w: Waiter<C, F>): void {
    if (w.settled) return;
    this.#waiters.cancel(w); // marks it settled: nothing grants it while its error is built
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
    this.#timeouts++;
    const now = performance.now();
    const waitedMs = Math.round(now - w.enqueuedAt);
    const recs = this.#leaseRecords();
    const snapshot = { active: this.#active, idle: this.#idle.length, waiting: this.#waiters.size + 1, max: this.options.max };
    const failing = this.#lastConnectError !== undefined && this.#all.size < this.options.max;
    if (this.events.active) {
      this.#emit({
        type: 'acquire-timeout',
        pool: this.name,
        driver: this.kind,
        time: Date.now(),
        waitedMs,
        active: this.#active,
        idle: this.#idle.length,
        waiting: this.#waiters.size + 1,
        tag: w.tag,
      });
    }
    this.#afterWaiterGone();
    // the holders' sites first (scoped calls capture theirs a microtask later), then the error
    const holders = w.nestedHeld === undefined ? recs : [...recs, w.nestedHeld];
    afterSites(holders, () => {
      const err = this.#timeoutError(w, waitedMs, now, recs, snapshot, failing);
      this.#logError(err.message); // rate-limited: a burst of timeouts is a few lines
      w.reject(err);
    });
  }

  #timeoutError(
    w: Waiter<C, F>,
    waitedMs: number,
    now: number,
    recs: readonly LeaseRecord<C>[],
    snapshot: { active: number; idle: number; waiting: number; max: number },
    failing: boolean,
  ): AcquireTimeoutError {
    const infos = recs.map((r) => leaseInfo(r, this.name, now, this.#siteCtx));
    if (infos.some((i) => i.noSite === 'not-sampled')) this.#escalate();
    const reason: AcquireTimeoutCause = this.#breakerTripped ? 'circuit-open' : failing ? 'connect-failing' : 'pool-full';
    let msg =
      `lifeguard: pool "${this.name}": no connection within ${w.timeoutMs} ms ` +
      `(in use ${snapshot.active}/${snapshot.max}, idle ${snapshot.idle}, waiting ${snapshot.waiting})`;
    const held = this.budget.held;
    const other = held.shared + held.dedicated + held.listener + held.subscriber;
    if (other > 0) {
      msg += `; budget ${this.options.max}: ${held.pooled} pooled, ${held.shared} shared, ${held.dedicated} dedicated, ${held.listener} listener, ${held.subscriber} subscriber`;
    }
    if (this.#breakerTripped) msg += `; the circuit is ${this.#breaker!.state.kind} after repeated connection failures`;
    if (failing) msg += `; connecting keeps failing: ${errorMessage(this.#lastConnectError)}`;
    msg += `; longest holders: ${holdersSummary(infos)}`;
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
    this.#waitSamples.add(waitMs);
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
    if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
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
    if (this.#closing) return;
    if (this.#attempt > 0 || this.#breakerTripped) {
      // after a failure: one attempt at a time, after a full-jitter backoff
      if (this.#creating > 0 || this.#waiters.size === 0) return;
      const wait = this.#retryAt - performance.now();
      if (wait > 0) {
        if (this.#retryTimer === undefined) {
          this.#retryTimer = setTimeout(() => {
            this.#retryTimer = undefined;
            this.#grow();
          }, wait);
          this.#retryTimer.unref?.();
        }
        return;
      }
      if (this.#breakerTripped && this.#breaker!.state.kind === 'open') return;
      if (this.budget.tryTake('pooled')) this.#create();
      return;
    }
    let need = this.#waiters.size - this.#creating - this.#validating - this.#resetting;
    while (need > 0 && this.budget.tryTake('pooled')) {
      this.#create();
      need--;
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

  #ensureMin(): void {
    // after an outage, refilling min waits for connecting to work again, then is spread out
    if (this.#attempt > 0 || this.#breakerTripped || this.#refilling) return;
    while (!this.#closing && this.#all.size + this.#creating < this.options.min && this.budget.tryTake('pooled')) {
      this.#create();
    }
  }

  #create(): void {
    this.#creating++;
    const started = performance.now();
    const p = this.#driver.create().then(
      (raw) => {
        this.#creating--;
        this.#lastConnectError = undefined;
        this.#attempt = 0;
        const t = this.#breaker?.success();
        if (t !== undefined) this.#circuit(t);
        if (this.#closing) {
          this.#track(this.#driver.destroy(raw).then(() => this.budget.give('pooled')));
          return;
        }
        const now = performance.now();
        const life = this.options.maxLifetimeMs;
        const conn = new Conn<C>(++this.#connSeq, raw, now, life > 0 ? now + life - Math.random() * life * 0.1 : Infinity);
        this.#all.add(conn);
        this.#created++;
        this.#driver.watch(raw, (err) => this.#onBroken(conn, err), () => this.#onListen(conn));
        this.#hooks.onConnect?.(raw);
        if (this.events.active) {
          this.#emit({ type: 'connect', pool: this.name, driver: this.kind, time: Date.now(), connectionId: conn.id, durationMs: now - started });
        }
        this.#give(conn);
      },
      (err: unknown) => {
        this.#creating--;
        this.#connectFailures++;
        this.#lastConnectError = err;
        this.budget.give('pooled');
        const error = asError(err);
        if (this.events.active) {
          this.#emit({ type: 'error', pool: this.name, driver: this.kind, time: Date.now(), error, connectionId: undefined });
        }
        this.#logError(`lifeguard: pool "${this.name}": could not open a connection: ${error.message}`);
        // Fail a waiter with the connect error instead of letting it hang; the rest retry.
        if (this.#waiters.size > this.#creating + this.#validating + this.#resetting) {
          this.#rejectWaiter(this.#waiters.shift()!, err);
        }
        const attempt = ++this.#attempt;
        const max = this.options.reconnect.maxAttempts;
        if (max > 0 && attempt >= max) {
          // given up for this outage: the waiters get the error, the next acquire starts over
          for (const w of this.#waiters.drain()) this.#rejectWaiter(w, err);
          this.#attempt = 0;
        } else {
          const delayMs = fullJitter(attempt, this.options.reconnect.baseMs, this.options.reconnect.maxMs);
          this.#retryAt = performance.now() + delayMs;
          if (this.events.active) {
            this.#emit({ type: 'reconnect', pool: this.name, driver: this.kind, time: Date.now(), attempt, delayMs });
          }
        }
        this.connectionFailure(error.message);
        this.#grow();
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
        this.#give(conn);
      } else {
        this.#destroy(conn, 'validation-failed', conn.broken);
        this.#dispatch();
      }
    });
    this.#track(p);
  }

  /** A free connection goes to the oldest waiter, else back to idle. */
  #give(conn: Conn<C>, now?: number): void {
    if (this.#closing) {
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
    }
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
    if (rec.released) this.usedAfterRelease(rec, 'release of');
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
      this.#reset(conn, reset);
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
    this.#heldSamples.add(now - rec.acquiredAt);
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
    if (this.#closing && this.#active === 0) this.#onDrained?.();
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
    });
  }

  /** @internal */
  describeSite(rec: LeaseRecord<C>): string | undefined {
    return describeSite(rec.site, this.#siteCtx).site;
  }

  /** @internal */
  wrapLease(rec: LeaseRecord<C>, lease: Lease<C, F>): F {
    return this.#driver.wrap(rec.conn.raw, lease);
  }

  // ---- connection loss and destruction -----------------------------------------

  #onBroken(conn: Conn<C>, err: Error | undefined): void {
    if (conn.broken !== undefined) return;
    conn.broken = err?.message ?? 'connection closed';
    if (!this.#all.has(conn)) return;
    if (err !== undefined) {
      if (this.events.active) {
        this.#emit({ type: 'error', pool: this.name, driver: this.kind, time: Date.now(), error: err, connectionId: conn.id });
      }
      this.#hooks.onError?.(err, conn.raw);
      this.#logError(`lifeguard: pool "${this.name}": connection #${conn.id} failed: ${err.message}; it will be replaced`);
      this.connectionFailure(err.message);
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
    this.#hooks.onRemove?.(conn.raw);
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
    if (this.events.active) {
      this.#emit({ type: 'leak', pool: this.name, driver: this.kind, time: Date.now(), kind, lease: info });
    }
    const s = this.#leakLog.take(performance.now());
    if (s >= 0) safeLog(this.options.logger, 'warn', leakBlock(kind, this.kind, info, s));
  }

  #sweep(): void {
    const now = performance.now();
    if (this.#escalatedUntil !== 0 && now > this.#escalatedUntil) this.#escalatedUntil = 0;
    const { idleTimeoutMs, min } = this.options;
    for (let i = this.#idle.length - 1; i >= 0; i--) {
      const conn = this.#idle[i]!;
      let reason: DestroyReason | undefined;
      if (conn.expiresAt <= now) reason = 'lifetime';
      else if (idleTimeoutMs > 0 && now - conn.idleSince > idleTimeoutMs && this.#all.size > min) reason = 'idle';
      if (reason !== undefined) {
        this.#idle.splice(i, 1);
        this.#destroy(conn, reason, undefined);
      }
    }
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

  get total(): number {
    return this.#all.size;
  }
  get idleCount(): number {
    return this.#idle.length;
  }
  get waitingCount(): number {
    return this.#waiters.size;
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
      waitMs: this.#waitSamples.summary(),
      heldMs: this.#heldSamples.summary(),
      circuit: this.#breaker?.state.kind ?? 'closed',
      healthy: this.#health?.healthy ?? true,
      reconnectAttempt: this.#attempt,
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
   * Stops new acquires (`POOL_CLOSED`), rejects waiters, waits up to `timeoutMs` for
   * leases to come back, then forces the rest and closes every connection.
   */
  close(opts?: { timeoutMs?: number }): Promise<CloseResult> {
    if (this.#closePromise) return this.#closePromise;
    const timeoutMs = opts?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        new ConfigError(`lifeguard: pool "${this.name}": close option timeoutMs must be an integer >= 0, got ${String(timeoutMs)}`, {
          pool: this.name,
          option: 'timeoutMs',
        }),
      );
    }
    this.#closing = true;
    clearInterval(this.#sweeper);
    this.#health?.stop();
    clearTimeout(this.#breakerTimer);
    clearTimeout(this.#retryTimer);
    this.#budgetWait?.abort();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    for (const w of this.#waiters.drain()) {
      w.settled = true;
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      w.reject(new PoolClosedError(this.name));
    }
    for (const conn of this.#idle.splice(0)) this.#destroy(conn, 'close', undefined);
    this.#closePromise = this.#closeRest(timeoutMs);
    return this.#closePromise;
  }

  async #closeRest(timeoutMs: number): Promise<CloseResult> {
    if (this.#active > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#onDrained = resolve;
        timer = setTimeout(resolve, timeoutMs);
      });
      clearTimeout(timer);
      this.#onDrained = undefined;
    }
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
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    return { forced };
  }
}

function noop(): void {}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The engine of one pool: its public API and the order of steps of an acquire and a
 * release, over units with one job each (README: Architecture). Knows no
 * driver and keeps no timers. The hot path (an idle connection, nobody waiting)
 * allocates a lease and a record, reads the clock once and builds no text.
 */
import { Budget } from './budget.js';
import { Connections } from './connections.js';
import { contextStorage } from './context.js';
import type { Driver } from './driver.js';
import { type CoreBehaviour, Engine, type PoolHooks } from './engine.js';
import { type CircuitOpenError, LeaseReleasedError, PoolClosedError } from './errors.js';
import type { CircuitState, DriverKind, EventHub, LeaseInfo } from './events.js';
import { Handout } from './handout.js';
import { IdleSet } from './idle.js';
import { type Lease, type LeaseOwner, type LeaseRecord, recordOf } from './lease.js';
import { LeakTracker } from './leak-tracker.js';
import { LeaseTable } from './lease-table.js';
import { type SiteContext, type SiteSource, afterSites, describeSite } from './leaks.js';
import { acquireChannel, traceAcquire } from './channels.js';
import { PoolMeter, openMeter } from './meter.js';
import { badAcquireOptions } from './messages.js';
import { NestedScope } from './nested.js';
import type { AcquireOptions, ResolvedCommonOptions } from './options.js';
import { AcquireQueue } from './queue.js';
import { Resilience } from './resilience.js';
import type { ScopedCall } from './scoped.js';
import { Shutdown, type CloseOptions, type CloseResult } from './shutdown.js';
import { formatSite, type SiteHolder } from './site.js';
import { PoolCounters, type PoolStats } from './stats.js';
import { Supply } from './supply.js';

export type { CoreBehaviour, PoolHooks } from './engine.js';
export { CLOSE_GRACE_MS, DEFAULT_CLOSE_TIMEOUT_MS, type CloseOptions, type CloseResult } from './shutdown.js';
export type { PoolStats } from './stats.js';

const RELEASE_NOT_RECORDED = "an unrecorded site (release sites are captured with leakDetection.captureStacks 'always')";

type Entry = (...args: never[]) => unknown;

export class CorePool<C, F> implements LeaseOwner<C, F> {
  readonly name: string;
  readonly kind: DriverKind;
  readonly options: ResolvedCommonOptions;
  readonly budget: Budget;
  readonly events: EventHub;
  /** Histograms and counters for exporters (`lifeguard/prometheus`, `lifeguard/otel`). */
  readonly meter: PoolMeter;
  readonly #e: Engine<C, F>;
  // the units of the hot path, one load away
  readonly #idle: IdleSet<C, F>;
  readonly #queue: AcquireQueue<C, F>;
  readonly #table: LeaseTable<C, F>;

  constructor(driver: Driver<C, F>, options: ResolvedCommonOptions, events: EventHub, hooks: PoolHooks<C, F> = {}, behaviour: CoreBehaviour = { openMin: true }) {
    this.name = options.name;
    this.kind = driver.kind;
    this.options = options;
    this.events = events;
    this.budget = new Budget(options.max);
    this.meter = new PoolMeter(this, driver.server);
    const e = (this.#e = new Engine<C, F>(options.name, driver.kind, options, driver, hooks, behaviour, events, this.budget, this.meter));
    e.conns = new Connections(e);
    e.idle = this.#idle = new IdleSet(e);
    e.queue = this.#queue = new AcquireQueue(e);
    e.table = this.#table = new LeaseTable(e, this);
    e.handout = new Handout(e);
    e.supply = new Supply(e);
    e.leaks = new LeakTracker(e);
    e.nested = new NestedScope(e, this);
    e.counters = new PoolCounters(e);
    e.shutdown = new Shutdown(e);
    e.resilience = new Resilience(e, this);
    openMeter(this.meter);
    e.supply.ensureMin();
  }

  // ---- acquisition sites ---------------------------------------------------------

  /** Captures the caller's site above `entry` per the capture mode; call it synchronously at the public entry point. */
  site(entry: Entry): SiteHolder | undefined {
    return this.#e.leaks.site(entry);
  }

  /** The creation site of a long-lived connection (subscriber, listener, dedicated): captured whenever capture is on. */
  longLivedSite(entry: Entry): SiteHolder | undefined {
    return this.#e.leaks.longLivedSite(entry);
  }

  /** The sink and promise of a scoped call (`query`, `withConnection`, `withTransaction`), attributed lazily. */
  scoped<T>(entry: Entry): ScopedCall<T> {
    return this.#e.leaks.scoped<T>(entry);
  }

  /** How sites of this pool become text (`leakDetection.ignoreFrames`, and why a site is missing). */
  get siteContext(): SiteContext {
    return this.#e.leaks.siteContext;
  }

  // ---- acquire ---------------------------------------------------------------------

  /**
   * Checks out a connection. `track` marks leases the user holds (tracked for
   * garbage collection and nested acquires); internal `query()` leases are not.
   */
  acquire(opts: AcquireOptions | undefined, site: SiteSource | undefined, track: boolean): Promise<Lease<C, F>> {
    if (opts !== undefined) {
      const bad = badAcquireOptions(this.name, opts);
      if (bad !== undefined) return Promise.reject(bad);
    }
    if (acquireChannel.hasSubscribers) return traceAcquire(this, opts, site, () => this.#checkout(opts, site, track));
    return this.#checkout(opts, site, track);
  }

  /** Closed? circuit open? nested? a free connection now? else wait. */
  #checkout(opts: AcquireOptions | undefined, site: SiteSource | undefined, track: boolean): Promise<Lease<C, F>> {
    const e = this.#e;
    if (e.closing) return Promise.reject(new PoolClosedError(this.name));
    if (e.resilience.tripped) {
      const err = e.resilience.refusal();
      if (err !== undefined) return Promise.reject(err);
    }
    const scope = contextStorage.getStore();
    const tag = opts?.tag ?? scope?.tag;
    let nested: LeaseRecord<C> | undefined;
    if (scope !== undefined && scope.held.length > 0 && this.options.onNestedAcquire !== 'ignore') {
      nested = e.nested.find(scope);
      if (nested !== undefined) {
        const refused = e.nested.report(nested, site, tag);
        if (refused) return refused;
      }
    }
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queue.size === 0) {
      const now = performance.now();
      const conn = this.#idle.take(now);
      if (conn !== undefined) return Promise.resolve(this.#table.open(conn, site, tag, now, 0, scope, track));
    }
    return this.#queue.wait(opts?.timeoutMs ?? this.options.acquireTimeoutMs, signal, site, tag, scope, track, nested);
  }

  /**
   * An internal lease without a promise when a connection is free right now and
   * nothing else applies (nobody waiting, circuit closed, no held lease in this
   * context); undefined otherwise, and the caller takes `acquire()`.
   */
  acquireNow(site: SiteSource | undefined): Lease<C, F> | undefined {
    const e = this.#e;
    if (e.closing || e.resilience.tripped || e.queue.size > 0 || e.idle.size === 0) return undefined;
    if (acquireChannel.hasSubscribers) return undefined; // traced through acquire()
    const scope = contextStorage.getStore();
    if (scope !== undefined && scope.held.length > 0) return undefined;
    const now = performance.now();
    const conn = e.idle.take(now);
    return conn === undefined ? undefined : e.table.open(conn, site, scope?.tag, now, 0, scope, false);
  }

  /** Runs `fn(arg)` while `lease` counts as held by the current async context (see nested.ts). */
  holding<A, T>(lease: Lease<C, F>, fn: (arg: A) => T, arg: A): T {
    return this.#e.nested.holding(lease, fn, arg);
  }

  // ---- release -----------------------------------------------------------------------

  /** Ends a lease: out of the table, reported, then the connection is closed, reset or handed on. */
  releaseLease(rec: LeaseRecord<C>, error: unknown, entry: Entry | undefined): void {
    const e = this.#e;
    if (rec.released) {
      // its connection died and the pool already took it back: nothing left to release
      if (rec.died !== undefined) return;
      this.usedAfterRelease(rec, 'release of');
    }
    rec.released = true;
    // where a user released it, for LeaseReleasedError: 'always' mode only
    if (entry !== undefined) {
      if (rec.site !== undefined) rec.releaseSite = e.leaks.releaseSite(entry);
      if (rec.releaseSite === undefined) rec.releaseNote = RELEASE_NOT_RECORDED;
    }
    const now = performance.now();
    this.#table.finish(rec, now);
    const conn = rec.conn;
    const failed = error !== undefined && error !== false && error !== null;
    const reset = failed || conn.broken !== undefined ? undefined : e.driver.dirtyReason(conn.raw);
    // the release is reported before the connection can go to the next waiter
    e.hooks.onRelease?.(error, conn.raw);
    if (e.events.active) {
      e.emit({ type: 'release', pool: this.name, driver: this.kind, time: Date.now(), leaseId: rec.id, connectionId: conn.id, heldMs: now - rec.acquiredAt, tag: rec.tag, reset });
    }
    e.handout.returned(conn, failed ? error : undefined, reset, now);
    // after the hand-over, so a connection passed straight to a waiter is no dip
    if (this.options.saturation !== false) e.counters.checkSaturation();
  }

  /** @internal */
  usedAfterRelease(rec: LeaseRecord<C>, what: string): never {
    throw new LeaseReleasedError({
      pool: this.name,
      leaseId: rec.id,
      what,
      acquiredAt: describeSite(rec.site, this.siteContext).site,
      releasedAt: formatSite(rec.releaseSite) ?? rec.releaseNote,
      died: rec.died,
    });
  }

  /** @internal */
  describeSite(rec: LeaseRecord<C>): string | undefined {
    return describeSite(rec.site, this.siteContext).site;
  }

  /** @internal */
  wrapLease(rec: LeaseRecord<C>, lease: Lease<C, F>): F {
    return this.#e.driver.wrap(rec.conn.raw, lease);
  }

  /** The raw connection of a lease, for an adapter's own fast paths (`pool.query`). */
  rawOf(lease: Lease<C, F>): C {
    return recordOf(lease).conn.raw;
  }

  /** Ends a lease from lifeguard's own code (no release-site capture); a no-op once it is released. */
  endLease(lease: Lease<C, F>, error: unknown): void {
    const rec = recordOf(lease);
    if (!rec.released) this.releaseLease(rec, error, undefined);
  }

  /** Releases a lease from a user's release function `entry` (its line is the release site). */
  releaseFrom(lease: Lease<C, F>, error: unknown, entry: Entry): void {
    this.releaseLease(recordOf(lease), error, entry);
  }

  /** Stops garbage-collection tracking of a lease whose handle the pool keeps anyway (pg `connect()`). */
  untrack(lease: Lease<C, F>): void {
    recordOf(lease).handle = undefined;
  }

  // ---- resilience --------------------------------------------------------------------

  /** The error a call gets while the circuit is open; undefined when it is not. */
  circuitOpenError(): CircuitOpenError | undefined {
    const r = this.#e.resilience;
    return r.tripped ? r.refusal() : undefined;
  }

  /** Feeds a failure to *open* a connection to the breaker (also for adapters' own connections). */
  connectionFailure(reason: string): void {
    this.#e.resilience.failure(reason);
  }

  /** Reports a connection-level success (a connection opened, a health check passed). */
  connectionSuccess(): void {
    this.#e.resilience.success();
  }

  /** True while the breaker is open or half-open (adapters fail fast on their own clients then). */
  get circuitTripped(): boolean {
    return this.#e.resilience.tripped;
  }

  /** Called with the new state on every breaker change. */
  set onCircuit(fn: ((to: CircuitState) => void) | undefined) {
    this.#e.resilience.onCircuit = fn;
  }

  /** ioredis `retryStrategy` for connections outside the pool (see supply.ts). */
  retryStrategy(times: number): number | null {
    return this.#e.supply.retryStrategy(times);
  }

  /** How long one health check may take: min(intervalMs, connectTimeoutMs). */
  get healthCheckTimeoutMs(): number {
    return this.#e.resilience.checkTimeoutMs;
  }

  /** Closes one idle connection so its budget permit goes to whoever waits for one. */
  shedIdle(): boolean {
    const conn = this.#e.idle.shift();
    if (conn === undefined) return false;
    this.#e.conns.destroy(conn, 'budget', undefined);
    return true;
  }

  // ---- reports and counts ----------------------------------------------------------

  /** Outstanding leases, oldest first. */
  leases(): LeaseInfo[] {
    const recs = this.#e.conns.leaseRecords();
    // scoped calls not yet attributed capture their site a microtask from now
    afterSites(recs, noop);
    return this.#e.table.infos(recs);
  }

  stats(): PoolStats {
    return this.#e.counters.stats();
  }

  get closing(): boolean {
    return this.#e.closing;
  }
  get total(): number {
    return this.#e.conns.total;
  }
  get idleCount(): number {
    return this.#e.idle.size;
  }
  get waitingCount(): number {
    return this.#e.queue.size;
  }
  /** Connections being opened, checked or reset: callers beyond these wait for capacity. */
  get preparingCount(): number {
    return this.#e.conns.preparing;
  }
  /** Connections being opened. */
  get creatingCount(): number {
    return this.#e.conns.creating;
  }
  get activeCount(): number {
    return this.#e.table.active;
  }
  /** The pooled connections, for adapters that expose them (pg.Pool's `_clients`). */
  connections(): C[] {
    const out: C[] = [];
    for (const conn of this.#e.conns.all) out.push(conn.raw);
    return out;
  }

  // ---- close -------------------------------------------------------------------------

  /**
   * Forces every outstanding lease back: each connection is closed (its state is
   * unknown) and later use of the lease throws `LEASE_RELEASED` with `note`.
   * Returns what was reclaimed. For test suites, after a leak was reported.
   */
  reclaim(note: string): LeaseInfo[] {
    return this.#e.table.reclaim(note);
  }

  /** Closes the pool (see shutdown.ts): `POOL_CLOSED` for new acquires, leases get `timeoutMs`, then are forced. */
  close(opts?: CloseOptions): Promise<CloseResult> {
    return this.#e.shutdown.close(opts);
  }
}

function noop(): void {}

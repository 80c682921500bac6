/**
 * Long-lived connections outside the pool (subscribers, listeners, dedicated
 * clients): each takes a permit of the pool's budget while open and is listed. A
 * subscriber or listener with at least one active subscription is held strongly
 * (alive until close(), referenced by the app or not: its handlers are how the app
 * hears of messages). The rest are tracked weakly: a handle garbage-collected without
 * close() has its connection closed and is reported as a `subscriber-lost` leak with
 * its creation site.
 */
import type { Budget, BudgetKind } from './budget.js';
import { AcquireTimeoutError, ConfigError, ConnectionLimitError, LeaseReleasedError } from './errors.js';
import { MAX_DURATION_MS, type ResolvedCommonOptions } from './options.js';
import { describeValue } from './redact.js';
import type { DriverKind, EventHub, LeaseInfo } from './events.js';
import type { SiteHolder } from './site.js';
import type { PoolMeter } from './meter.js';
import type { PoolStats } from './pool.js';
import { leakChannel, publishLeak } from './channels.js';
import { describeSite, leakBlock, type SiteContext } from './leaks.js';
import { safeLog } from './logger.js';
import { settleWithin } from './timeouts.js';

/** Internal: what the tracker uses of its pool's engine (a `CorePool` of any connection type). */
export interface TrackerHost {
  readonly name: string;
  readonly kind: DriverKind;
  readonly options: Pick<ResolvedCommonOptions, 'max' | 'logger'>;
  readonly budget: Budget;
  readonly meter: Pick<PoolMeter, 'leaks'>;
  readonly events: EventHub;
  readonly siteContext: SiteContext;
  readonly closing: boolean;
  shedIdle(): boolean;
  stats(): Pick<PoolStats, 'active' | 'idle' | 'pending' | 'ceiling'>;
  leases(): LeaseInfo[];
}

/** What the user calls each kind in messages. */
const HANDLE_NAMES = { subscriber: 'subscriber', listener: 'listener', dedicated: 'dedicated connection' } as const;

/** Internal: what the tracker keeps of one dedicated connection. Must not reference its handle. */
export interface DedicatedState {
  readonly id: number;
  readonly kind: 'subscriber' | 'listener' | 'dedicated';
  readonly createdAt: number;
  readonly site: SiteHolder | undefined;
  readonly tag: string | undefined;
  closed: boolean;
  /** Channels (subscriber: channels; listener: LISTEN channels). */
  readonly channels: Set<string>;
  readonly patterns: Set<string>;
  lastMessageAt: number | undefined;
  /** Closes the underlying connection within `timeoutMs` (default: the connect timeout); resolves once closed. */
  readonly closeConnection: (timeoutMs?: number) => Promise<void>;
}

/** A live subscriber, listener or dedicated connection, as `subscribers()` lists it. */
export interface DedicatedInfo extends LeaseInfo {
  /** Channels subscribed or listened to. */
  readonly channels: readonly string[];
  /** Patterns subscribed (Redis `PSUBSCRIBE`). */
  readonly patterns: readonly string[];
  /** Time of the last message, `Date.now()` clock; undefined before the first. */
  readonly lastMessageAt: number | undefined;
}

/** Internal: the pool's subscribers, listeners and dedicated connections. */
export class DedicatedTracker {
  readonly #core: TrackerHost;
  readonly #live = new Set<DedicatedState>();
  readonly #finalizer = new FinalizationRegistry<DedicatedState>((s) => this.#onLost(s));
  /** Handles with an active subscription, held strongly until they unsubscribe everything or close. */
  readonly #held = new Map<DedicatedState, object>();
  #seq = 0;

  constructor(core: TrackerHost) {
    this.#core = core;
  }

  /** The pool's engine, as far as the tracker uses it. */
  get host(): TrackerHost {
    return this.#core;
  }

  /** A fresh state for a connection just opened. */
  newState(
    kind: DedicatedState['kind'],
    site: SiteHolder | undefined,
    tag: string | undefined,
    closeConnection: (timeoutMs?: number) => Promise<void>,
  ): DedicatedState {
    return {
      id: ++this.#seq,
      kind,
      createdAt: performance.now(),
      site,
      tag,
      closed: false,
      channels: new Set(),
      patterns: new Set(),
      lastMessageAt: undefined,
      closeConnection,
    };
  }

  /**
   * Takes a budget permit for `kind`, waiting up to `timeoutMs`; on timeout an
   * `ACQUIRE_TIMEOUT` that says what holds the budget.
   */
  async reserve(kind: BudgetKind, timeoutMs: number, what: string): Promise<void> {
    const core = this.#core;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > MAX_DURATION_MS) {
      throw new ConfigError(`lifeguard: pool "${core.name}": ${what} option timeoutMs must be an integer from 1 to ${MAX_DURATION_MS}, got ${describeValue(timeoutMs)}`, {
        pool: core.name,
        option: 'timeoutMs',
      });
    }
    if (core.budget.tryTake(kind)) return;
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    const started = performance.now();
    const taking = core.budget.take(kind, ctrl.signal);
    core.shedIdle();
    const ok = await taking;
    clearTimeout(timer);
    if (ok) return;
    const held = core.budget.held;
    const s = core.stats();
    throw new AcquireTimeoutError(
      `lifeguard: pool "${core.name}": no connection for a ${what} within ${timeoutMs} ms: the budget of ${core.options.max} is held by ` +
        `${held.pooled} pooled (${s.active} in use, ${s.idle} idle), ${held.shared} shared, ${held.subscriber} subscriber, ` +
        `${held.listener} listener and ${held.dedicated} dedicated connections` +
        (s.ceiling !== undefined ? ` (the server's connection limit caps pooled connections at ${s.ceiling})` : '') +
        `; longest holders: ` +
        holders(core.leases().concat(this.list())),
      {
        pool: core.name,
        waitedMs: Math.round(performance.now() - started),
        reason: 'pool-full',
        snapshot: { active: s.active, idle: s.idle, waiting: s.pending, max: core.options.max },
        nested: false,
      },
    );
  }

  /** Starts tracking `state` for `handle` (weakly: the tracker holds only the state). */
  track(handle: object, state: DedicatedState): void {
    this.#live.add(state);
    this.#finalizer.register(handle, state, state);
  }

  /**
   * Holds `handle` strongly while `subscribed` (it has a subscription, so messages may
   * arrive for handlers the app still wants), weakly again once it has none.
   */
  hold(handle: object, state: DedicatedState, subscribed: boolean): void {
    if (subscribed && !state.closed) this.#held.set(state, handle);
    else this.#held.delete(state);
  }

  /**
   * The error of a dedicated connection the server refused at its connection limit:
   * names the limit, the budget and the pool's ceiling.
   */
  limitError(what: string, cause: unknown): ConnectionLimitError {
    const core = this.#core;
    const s = core.stats();
    const held = core.budget.held;
    return new ConnectionLimitError(
      `lifeguard: pool "${core.name}": no ${what} connection: the server refused it at its connection limit ` +
        `(${cause instanceof Error ? cause.message : String(cause)}); this pool holds ${held.pooled} pooled (${s.active} in use, ${s.idle} idle), ` +
        `${held.shared} shared, ${held.subscriber} subscriber, ${held.listener} listener and ${held.dedicated} dedicated connections` +
        (s.ceiling !== undefined ? `; pooled connections are capped at ${s.ceiling} of max ${core.options.max} by that limit` : '') +
        `. Close idle subscribers/listeners, lower max, or raise the server's limit`,
      { pool: core.name, ceiling: s.ceiling, cause },
    );
  }

  /** `LEASE_RELEASED` for the use `what` (e.g. `'subscribe() on'`) of a closed connection. */
  usedAfterClose(state: DedicatedState, what: string): LeaseReleasedError {
    return new LeaseReleasedError({
      pool: this.#core.name,
      leaseId: state.id,
      what,
      acquiredAt: describeSite(state.site, this.#core.siteContext).site,
      releasedAt: 'close()',
      handle: HANDLE_NAMES[state.kind],
    });
  }

  /** Closes one connection and returns its permit; idempotent. */
  async close(state: DedicatedState, kind: BudgetKind, timeoutMs?: number): Promise<void> {
    if (state.closed) return;
    state.closed = true;
    this.#held.delete(state);
    this.#live.delete(state);
    this.#finalizer.unregister(state);
    try {
      await state.closeConnection(timeoutMs);
    } finally {
      this.#core.budget.give(kind);
    }
  }

  list(): DedicatedInfo[] {
    const now = performance.now();
    return [...this.#live].map((s) => info(s, this.#core.name, now, this.#core.siteContext));
  }

  /**
   * Closes everything (pool close, or a test's reclaim); returns what was open. With
   * `timeoutMs`, resolves by then at the latest (connections still closing finish on their own bound).
   */
  async closeAll(timeoutMs?: number): Promise<DedicatedInfo[]> {
    const open = this.list();
    const all = Promise.all([...this.#live].map((s) => this.close(s, budgetKind(s), timeoutMs)));
    if (timeoutMs === undefined) {
      await all;
      return open;
    }
    await settleWithin(all, timeoutMs);
    return open;
  }

  #onLost(state: DedicatedState): void {
    if (state.closed) return;
    const lease = info(state, this.#core.name, performance.now(), this.#core.siteContext);
    void this.close(state, budgetKind(state));
    const core = this.#core;
    core.meter.leaks['subscriber-lost']++;
    if (leakChannel.hasSubscribers) publishLeak(core.name, core.kind, 'subscriber-lost', lease);
    if (core.events.active) {
      core.events.emit({ type: 'leak', pool: core.name, driver: core.kind, time: Date.now(), kind: 'subscriber-lost', lease });
    }
    safeLog(core.options.logger, 'warn', leakBlock('subscriber-lost', core.kind, lease, 0));
  }
}

function budgetKind(s: DedicatedState): BudgetKind {
  return s.kind;
}

/** The pool's site rules (ignoreFrames, why a site is missing) apply as they do to leases. */
function info(s: DedicatedState, pool: string, now: number, ctx: SiteContext): DedicatedInfo {
  const d = describeSite(s.site, ctx);
  return Object.freeze({
    id: s.id,
    pool,
    kind: s.kind,
    ageMs: Math.round(now - s.createdAt),
    tag: s.tag,
    site: d.site,
    stack: d.stack,
    noSite: d.noSite,
    channels: [...s.channels],
    patterns: [...s.patterns],
    lastMessageAt: s.lastMessageAt,
  });
}

function holders(infos: LeaseInfo[]): string {
  if (infos.length === 0) return 'none';
  return infos
    .sort((a, b) => b.ageMs - a.ageMs)
    .slice(0, 5)
    .map((i) => `${i.kind} #${i.id} at ${i.site ?? 'an unrecorded site'}`)
    .join(', ');
}

/**
 * What the units of one pool share: its configuration, driver, budget, event hub
 * and meter, the close state, and a reference to each unit, so a unit reaches
 * another through here rather than through the pool. Built by `CorePool`; the
 * units are attached right after.
 */
import type { Budget } from './budget.js';
import type { Connections } from './connections.js';
import type { Driver } from './driver.js';
import type { DestroyReason, DriverKind, EventHub, LifeguardEvent } from './events.js';
import type { Handout } from './handout.js';
import type { IdleSet } from './idle.js';
import type { Lease } from './lease.js';
import type { LeakTracker } from './leak-tracker.js';
import type { LeaseTable } from './lease-table.js';
import { type Logger, LogLimiter, safeLog } from './logger.js';
import type { PoolMeter } from './meter.js';
import type { NestedScope } from './nested.js';
import type { ResolvedCommonOptions } from './options.js';
import type { AcquireQueue } from './queue.js';
import type { Resilience } from './resilience.js';
import type { Shutdown } from './shutdown.js';
import type { PoolCounters } from './stats.js';
import type { Supply } from './supply.js';

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

export class Engine<C, F> {
  readonly logger: Logger;
  readonly #errorLog = new LogLimiter(5, 10_000);
  /** `close()` was called: no new acquires. */
  closing = false;
  /** Closing by `end()`: queued callers are still served. */
  serveWaiters = false;

  conns!: Connections<C, F>;
  idle!: IdleSet<C, F>;
  queue!: AcquireQueue<C, F>;
  table!: LeaseTable<C, F>;
  handout!: Handout<C, F>;
  supply!: Supply<C, F>;
  resilience!: Resilience<C, F>;
  leaks!: LeakTracker<C, F>;
  nested!: NestedScope<C, F>;
  counters!: PoolCounters<C, F>;
  shutdown!: Shutdown<C, F>;

  constructor(
    readonly name: string,
    readonly kind: DriverKind,
    readonly options: ResolvedCommonOptions,
    readonly driver: Driver<C, F>,
    readonly hooks: PoolHooks<C, F>,
    readonly behaviour: CoreBehaviour,
    readonly events: EventHub,
    readonly budget: Budget,
    readonly meter: PoolMeter,
  ) {
    this.logger = options.logger;
  }

  /** Closing, and nobody is left to serve: new and freed connections are closed. */
  get dropping(): boolean {
    return this.closing && (!this.serveWaiters || this.queue.size === 0);
  }

  /** Emits a lifeguard event (call only when `events.active`, after building it). */
  emit(e: LifeguardEvent): void {
    this.events.emit(e);
  }

  log(level: keyof Logger, text: string): void {
    safeLog(this.logger, level, text);
  }

  /** A warning rate-limited per pool: a burst of connection errors or timeouts is a few lines. */
  logError(text: string): void {
    this.#errorLog.write(this.logger, 'warn', text);
  }
}

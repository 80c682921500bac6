/**
 * What a pool reports about itself: the `stats()` snapshot, read from the units
 * that count, and the saturation level (an event when utilization crosses
 * `saturation.warn` or `saturation.critical`).
 */
import type { Engine } from './engine.js';
import type { CircuitState, DestroyReason, DriverKind } from './events.js';
import type { Percentiles } from './histogram.js';

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

export class PoolCounters<C, F> {
  readonly #e: Engine<C, F>;
  #satLevel = 0;

  constructor(e: Engine<C, F>) {
    this.#e = e;
  }

  /**
   * Emits `saturation` when the share of `max` leased crosses a level. No log line: a
   * pool in full use is not news (the event says it); what users act on is logged
   * where it happens (acquire timeouts, leaks, connection failures).
   */
  checkSaturation(): void {
    const e = this.#e;
    const sat = e.options.saturation;
    if (sat === false) return;
    const u = e.table.active / e.options.max;
    const level = u >= sat.critical ? 2 : u >= sat.warn ? 1 : 0;
    if (level === this.#satLevel) return;
    this.#satLevel = level;
    if (e.events.active) {
      e.emit({ type: 'saturation', pool: e.name, driver: e.kind, time: Date.now(), level: level === 2 ? 'critical' : level === 1 ? 'warn' : 'ok', utilization: u });
    }
  }

  stats(): PoolStats {
    const e = this.#e;
    const { conns, table, supply } = e;
    return {
      name: e.name,
      driver: e.kind,
      max: e.options.max,
      min: e.options.min,
      total: conns.total,
      active: table.active,
      idle: e.idle.size,
      pending: e.queue.size,
      creating: conns.creating,
      acquired: table.acquired,
      released: table.released,
      created: conns.created,
      destroyed: { ...conns.destroyed },
      timeouts: e.queue.timeouts,
      connectFailures: supply.connectFailures,
      waitMs: e.meter.wait.summary(),
      heldMs: e.meter.use.summary(),
      circuit: e.resilience.state,
      healthy: e.resilience.healthy,
      reconnectAttempt: supply.attempt,
      ceiling: supply.ceiling.value,
      budget: { available: e.budget.available, ...e.budget.held },
    };
  }
}

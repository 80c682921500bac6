/**
 * `diagnostics_channel` publication, the way undici and ioredis publish theirs, so
 * APM agents see pool waits, leaks and breaker changes without an adapter:
 *
 * - `lifeguard:acquire`, a TracingChannel (`tracing:lifeguard:acquire:start`, `:end`,
 *   `:asyncStart`, `:asyncEnd`, `:error`), one trace per acquire; the message is an
 *   {@link AcquireMessage}.
 * - `lifeguard:leak`: a {@link LeakMessage} per leak report.
 * - `lifeguard:circuit`: a {@link CircuitMessage} per breaker transition.
 *
 * Zero cost with no subscriber: every publication is behind `hasSubscribers`, and
 * no message is built otherwise.
 */
import dc from 'node:diagnostics_channel';
import { contextStorage } from './context.js';
import type { CircuitState, DriverKind, LeaseInfo } from './events.js';
import { type Lease, recordOf } from './lease.js';
import { describeSite, type SiteContext, type SiteSource } from './leaks.js';
import type { AcquireOptions } from './options.js';
import type { LeakKind } from './meter.js';

/** Name of the acquire TracingChannel. */
export const ACQUIRE_CHANNEL = 'lifeguard:acquire';
/** Name of the leak channel. */
export const LEAK_CHANNEL = 'lifeguard:leak';
/** Name of the circuit channel. */
export const CIRCUIT_CHANNEL = 'lifeguard:circuit';

/** The context object of one traced acquire (the same object on every event of the trace). */
export interface AcquireMessage {
  /** Pool name. */
  readonly pool: string;
  /** Driver of the pool. */
  readonly driver: DriverKind;
  /** Request tag (`acquire({ tag })` or `runWithTag`), when there is one. */
  readonly tag: string | undefined;
  /** The caller's `file:line:col` when it was captured; text is made on first read. */
  readonly site: string | undefined;
  /** `performance.now()` when the acquire started. */
  readonly startedAt: number;
  /** Milliseconds waited: set before `asyncStart` (0 when a connection was free). */
  readonly waitMs: number;
  /** The lease id, set before `asyncStart` when the acquire succeeded. */
  readonly leaseId: number | undefined;
  /** The connection id, set before `asyncStart` when the acquire succeeded. */
  readonly connectionId: number | undefined;
  /** The rejection (set by the TracingChannel on `error`). */
  readonly error?: unknown;
  /** The lease (set by the TracingChannel on `asyncStart`). */
  readonly result?: unknown;
}

/** Published on `lifeguard:leak`. */
export interface LeakMessage {
  /** Pool name. */
  readonly pool: string;
  /** Driver of the pool. */
  readonly driver: DriverKind;
  /** What kind of leak (as the `leak` event's `kind`). */
  readonly kind: LeakKind;
  /** The lease, subscriber or listener, with its site and tag. */
  readonly lease: LeaseInfo;
}

/** Published on `lifeguard:circuit`. */
export interface CircuitMessage {
  /** Pool name. */
  readonly pool: string;
  /** Driver of the pool. */
  readonly driver: DriverKind;
  /** State before the transition. */
  readonly from: CircuitState;
  /** State after it. */
  readonly to: CircuitState;
  /** Why (the last connection error, or the probe's outcome). */
  readonly reason: string;
}

/** The acquire TracingChannel. */
export const acquireChannel = dc.tracingChannel<unknown, AcquireMessage>(ACQUIRE_CHANNEL);
/** The leak channel. */
export const leakChannel = dc.channel(LEAK_CHANNEL);
/** The circuit channel. */
export const circuitChannel = dc.channel(CIRCUIT_CHANNEL);

class Message implements AcquireMessage {
  readonly startedAt = performance.now();
  waitMs = 0;
  leaseId: number | undefined = undefined;
  connectionId: number | undefined = undefined;
  readonly #src: SiteSource | undefined;
  readonly #ctx: SiteContext;
  constructor(
    readonly pool: string,
    readonly driver: DriverKind,
    readonly tag: string | undefined,
    src: SiteSource | undefined,
    ctx: SiteContext,
  ) {
    this.#src = src;
    this.#ctx = ctx;
  }
  get site(): string | undefined {
    return describeSite(this.#src, this.#ctx).site;
  }
}

interface TracedPool {
  readonly name: string;
  readonly kind: DriverKind;
  readonly siteContext: SiteContext;
}

/**
 * Runs `checkout` inside an acquire trace (only called when the channel has
 * subscribers): the message gets the wait, lease and connection before `asyncStart`.
 */
export function traceAcquire<L extends Lease<unknown, unknown>>(
  pool: TracedPool,
  opts: AcquireOptions | undefined,
  site: SiteSource | undefined,
  checkout: () => Promise<L>,
): Promise<L> {
  const msg = new Message(pool.name, pool.kind, opts?.tag ?? contextStorage.getStore()?.tag, site, pool.siteContext);
  return acquireChannel.tracePromise(() => {
    const p = checkout();
    // a lease made before checkout() returned was a free connection: no wait
    const returnedAt = performance.now();
    return p.then(
        (lease) => {
          const rec = recordOf(lease);
          msg.waitMs = rec.acquiredAt <= returnedAt ? 0 : rec.acquiredAt - msg.startedAt;
          msg.leaseId = rec.id;
          msg.connectionId = rec.conn.id;
          return lease;
        },
        (err: unknown) => {
          msg.waitMs = performance.now() - msg.startedAt;
          throw err;
        },
      );
  }, msg);
}

/** Publishes a leak report (call only when `leakChannel.hasSubscribers`). */
export function publishLeak(pool: string, driver: DriverKind, kind: LeakKind, lease: LeaseInfo): void {
  const msg: LeakMessage = { pool, driver, kind, lease };
  leakChannel.publish(msg);
}

/** Publishes a breaker transition (call only when `circuitChannel.hasSubscribers`). */
export function publishCircuit(pool: string, driver: DriverKind, from: CircuitState, to: CircuitState, reason: string): void {
  const msg: CircuitMessage = { pool, driver, from, to, reason };
  circuitChannel.publish(msg);
}

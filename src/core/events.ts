/**
 * One typed event stream for every pool. Events are built only when someone listens
 * (`EventHub.active`), and a listener that throws never breaks the pool.
 */
import { type Logger, LogLimiter } from './logger.js';
import { describeValue } from './redact.js';
import type { NoSiteReason } from './site.js';

/** Which driver a pool wraps. */
export type DriverKind = 'pg' | 'redis';

/** What a lease, subscriber or listener looks like in a report. */
export interface LeaseInfo {
  /** Lease id, unique per pool. */
  readonly id: number;
  /** Name of the pool. */
  readonly pool: string;
  /** What kind of connection: a pooled lease, a dedicated one, or a lease that ran `LISTEN` (`'listener'`). */
  readonly kind: 'lease' | 'subscriber' | 'listener' | 'dedicated';
  /** Milliseconds since it was acquired. */
  readonly ageMs: number;
  /** Request tag (`acquire({ tag })` or `runWithTag`), when there is one. */
  readonly tag: string | undefined;
  /** First user frame of the acquisition (`file:line:col`), when captured. */
  readonly site: string | undefined;
  /**
   * The acquisition stack when captured: the application frame first, then its
   * callers, then `(via …)` the dependency frames the call went through.
   */
  readonly stack: string | undefined;
  /**
   * Why `site` is undefined: `'capture-off'`, `'not-sampled'`, `'pending'` (a scoped
   * call still running; its site is taken a microtask after a report asks),
   * `'not-awaited'` (a scoped call nobody awaits has no caller to name) or
   * `'no-application-frame'`. Undefined when there is a site.
   */
  readonly noSite?: NoSiteReason;
}

interface Base {
  /** Pool name. */
  readonly pool: string;
  /** Driver of the pool. */
  readonly driver: DriverKind;
  /** Wall-clock time of the event (`Date.now()`). */
  readonly time: number;
}

/** Why a connection was destroyed. */
export type DestroyReason =
  | 'error' // the connection reported an error or closed on its own
  | 'validation-failed' // a liveness check before hand-out failed
  | 'released-with-error' // the user released it with an error (`release(err)`, `destroy()`)
  | 'dirty' // released in a state that could not be reset
  | 'idle' // idle longer than idleTimeoutMs
  | 'lifetime' // older than maxLifetimeMs
  | 'max-uses' // used maxUses times
  | 'lost' // its lease was garbage-collected without release
  | 'budget' // idle, closed to give its permit to a waiting subscriber, listener or dedicated connection
  | 'close'; // the pool closed

/** Breaker states. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/** Every event lifeguard emits; `switch (e.type)` narrows it. */
export type LifeguardEvent =
  | (Base & { readonly type: 'connect'; readonly connectionId: number; readonly durationMs: number })
  | (Base & {
      readonly type: 'acquire';
      readonly leaseId: number;
      readonly connectionId: number;
      readonly waitMs: number;
      readonly tag: string | undefined;
    })
  | (Base & {
      readonly type: 'release';
      readonly leaseId: number;
      readonly connectionId: number;
      readonly heldMs: number;
      readonly tag: string | undefined;
      /** Set when the connection was reset before reuse (e.g. `rollback`, `select`). */
      readonly reset: string | undefined;
    })
  | (Base & {
      readonly type: 'destroy';
      readonly connectionId: number;
      readonly reason: DestroyReason;
      /** What was found, e.g. `transaction status E` or the error message. */
      readonly detail: string | undefined;
    })
  | (Base & {
      readonly type: 'acquire-timeout';
      readonly waitedMs: number;
      readonly active: number;
      readonly idle: number;
      readonly waiting: number;
      readonly tag: string | undefined;
    })
  | (Base & { readonly type: 'exhausted'; readonly waiting: number; readonly max: number })
  | (Base & {
      readonly type: 'saturation';
      readonly level: 'ok' | 'warn' | 'critical';
      readonly utilization: number;
    })
  | (Base & {
      readonly type: 'leak';
      readonly kind: 'held-too-long' | 'lost' | 'unreleased-at-close' | 'subscriber-lost';
      readonly lease: LeaseInfo;
    })
  | (Base & { readonly type: 'leak-resolved'; readonly lease: LeaseInfo; readonly heldMs: number })
  | (Base & {
      readonly type: 'nested-acquire';
      /** Where the lease already held in this async context was acquired. */
      readonly heldSite: string | undefined;
      /** Where the new acquire was made. */
      readonly site: string | undefined;
      readonly tag: string | undefined;
    })
  | (Base & {
      readonly type: 'circuit';
      readonly from: CircuitState;
      readonly to: CircuitState;
      readonly reason: string;
    })
  | (Base & { readonly type: 'health'; readonly healthy: boolean; readonly detail: string | undefined })
  | (Base & {
      readonly type: 'ceiling';
      /** Pooled connections the server's connection limit leaves room for; undefined once lifted. */
      readonly ceiling: number | undefined;
      readonly max: number;
      /** The server's refusal that set or lowered it; undefined when raised or lifted. */
      readonly detail: string | undefined;
    })
  | (Base & { readonly type: 'reconnect'; readonly attempt: number; readonly delayMs: number })
  | (Base & {
      readonly type: 'resubscribe';
      /** Which dedicated connection came back. */
      readonly connection: 'subscriber' | 'listener';
      readonly id: number;
      /** Channels subscribed (or listened to) again. */
      readonly channels: readonly string[];
      readonly patterns: readonly string[];
    })
  | (Base & { readonly type: 'error'; readonly error: Error; readonly connectionId: number | undefined })
  // issue 17: Redis Sentinel / Cluster
  | (Base & {
      readonly type: 'failover';
      /** The master before (`host:port`; for a cluster, the node that left), undefined when unknown. */
      readonly from: string | undefined;
      /** The master now (`host:port`). */
      readonly to: string;
      /** What noticed it: the shared client's reconnect (`sentinel`) or a cluster's slot map (`cluster`). */
      readonly via: 'sentinel' | 'cluster';
    });

/** All event type names. */
export type LifeguardEventType = LifeguardEvent['type'];
/** The event of one type, e.g. `EventOf<'leak'>`. */
export type EventOf<T extends LifeguardEventType> = Extract<LifeguardEvent, { type: T }>;
/** A listener of the event stream. */
export type EventListener = (event: LifeguardEvent) => void;

/**
 * Listener list with an `active` flag that is true when anyone (here or on the
 * parent hub, i.e. the manager) listens. Emit isolates listeners from each other: a
 * listener that throws, or an `async` one that rejects, is reported through the
 * logger of the pool the event came from, at most 5 lines per 10 s per pool.
 */
export class EventHub {
  #listeners: EventListener[] = [];
  readonly #parent: EventHub | undefined;
  #logger: Logger | undefined;
  readonly #failures = new LogLimiter(5, 10_000);

  constructor(parent?: EventHub, logger?: Logger) {
    this.#parent = parent;
    this.#logger = logger;
  }

  /** True when an event would reach at least one listener. */
  get active(): boolean {
    return this.#listeners.length > 0 || (this.#parent !== undefined && this.#parent.active);
  }

  get count(): number {
    return this.#listeners.length;
  }

  add(fn: EventListener): void {
    // Copy on write: an emit in progress keeps iterating its own array.
    this.#listeners = [...this.#listeners, fn];
  }

  remove(fn: EventListener): boolean {
    let i = this.#listeners.lastIndexOf(fn);
    if (i === -1) i = this.#listeners.findIndex((l) => (l as { listener?: unknown }).listener === fn);
    if (i === -1) return false;
    const next = this.#listeners.slice();
    next.splice(i, 1);
    this.#listeners = next;
    return true;
  }

  clear(): void {
    this.#listeners = [];
  }

  /** Calls every listener here, then the parent's; `origin` is the pool's hub (whose logger reports failures). */
  emit(event: LifeguardEvent, origin: EventHub = this): void {
    const list = this.#listeners;
    for (let i = 0; i < list.length; i++) {
      try {
        const r: unknown = list[i]!(event);
        // an async listener: its rejection is reported like a throw, never left unhandled
        if (typeof r === 'object' && r !== null && typeof (r as { then?: unknown }).then === 'function') {
          (r as PromiseLike<unknown>).then(undefined, (err: unknown) => origin.#report(err, event));
        }
      } catch (err) {
        origin.#report(err, event);
      }
    }
    if (this.#parent !== undefined) this.#parent.emit(event, origin);
  }

  #report(err: unknown, event: LifeguardEvent): void {
    const logger = this.#logger ?? (this.#parent === undefined ? undefined : this.#parent.#logger);
    if (logger === undefined) return;
    this.#failures.write(logger, 'error', `lifeguard: an event listener failed on "${event.type}" (pool "${event.pool}"): ${describeValue(err)}`);
  }
}

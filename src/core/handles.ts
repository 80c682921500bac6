/**
 * Subscribers, listeners and dedicated connections, for both adapters: the one
 * sequence that opens their connection inside the budget ({@link openConnection}) and
 * the base of their handles ({@link ConnectionHandle}: id, the closed check, hold,
 * close).
 */
import type { DedicatedInfo, DedicatedState, DedicatedTracker } from './dedicated.js';
import { PoolClosedError } from './errors.js';

/** Internal: how an adapter opens one long-lived connection. */
export interface OpenSpec<R> {
  readonly kind: DedicatedState['kind'];
  /** How long to wait for a budget permit. */
  readonly timeoutMs: number;
  /** Refusals checked once the pool is known to be open, before a permit is taken (pg: PgBouncer's transaction mode). */
  refuse?(): void;
  /** Opens the connection (its permit is held); rejects when it cannot. */
  connect(): Promise<R>;
  /** What to throw for a failed connect, asked while its permit is still held (so the server never sees more than the budget). */
  explain?(error: unknown): unknown;
  /** True when the (explained) failure is the server's connection limit. */
  isLimitError(error: unknown): boolean;
  /** Closes a connection that opened while close() ran. */
  destroy(raw: R): Promise<void> | void;
}

/**
 * Internal: reserves a permit, opens the connection, and gives the permit back when
 * that fails (a `CONNECTION_LIMIT` error at the server's limit) or when close() ran
 * meanwhile (the connection is closed: `POOL_CLOSED`). The caller then tracks it.
 */
export async function openConnection<R>(tracker: DedicatedTracker, spec: OpenSpec<R>): Promise<R> {
  const host = tracker.host;
  if (host.closing) throw new PoolClosedError(host.name);
  spec.refuse?.();
  await tracker.reserve(spec.kind, spec.timeoutMs, spec.kind);
  let raw: R;
  try {
    raw = await spec.connect();
  } catch (err) {
    let reason: unknown = err;
    try {
      if (spec.explain !== undefined) reason = await spec.explain(err);
    } finally {
      host.budget.give(spec.kind);
    }
    if (spec.isLimitError(reason)) throw tracker.limitError(spec.kind, reason);
    throw reason;
  }
  if (host.closing) {
    // close() ran while it was opened: its closeAll() did not see this one
    try {
      await spec.destroy(raw);
    } finally {
      host.budget.give(spec.kind);
    }
    throw new PoolClosedError(host.name);
  }
  return raw;
}

/**
 * A subscriber, listener or dedicated connection: a connection outside the pool,
 * inside its budget. Close it when done (`close()` or `await using`).
 */
export abstract class ConnectionHandle {
  readonly #state: DedicatedState;
  readonly #tracker: DedicatedTracker;

  /** @internal */
  constructor(state: DedicatedState, tracker: DedicatedTracker) {
    this.#state = state;
    this.#tracker = tracker;
  }

  /** Unique id within the pool. */
  get id(): number {
    return this.#state.id;
  }

  /** @internal true once closed. */
  protected get isClosed(): boolean {
    return this.#state.closed;
  }

  /** @internal throws `LEASE_RELEASED` for the use `what` (e.g. `'subscribe() on'`) once closed. */
  protected check(what: string): void {
    if (this.#state.closed) throw this.#tracker.usedAfterClose(this.#state, what);
  }

  /** @internal held strongly by the pool while `subscribed`, weakly once not. */
  protected hold(subscribed: boolean): void {
    this.#tracker.hold(this, this.#state, subscribed);
  }

  /** @internal what the pool lists for this one. */
  protected listed(): DedicatedInfo | undefined {
    const s = this.#state;
    return this.#tracker.list().find((i) => i.id === s.id && i.kind === s.kind);
  }

  /** Closes the connection and returns its budget permit; idempotent. */
  close(): Promise<void> {
    return this.#tracker.close(this.#state, this.#state.kind);
  }

  /** Closes on `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

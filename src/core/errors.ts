/**
 * Every error lifeguard throws extends {@link LifeguardError} and carries a stable
 * `code`. Match on `code` (or `instanceof`), never on the message.
 */

const BRAND = Symbol.for('lifeguard.error');

/** The stable codes of lifeguard's errors. */
export type LifeguardErrorCode =
  | 'ACQUIRE_TIMEOUT'
  | 'CIRCUIT_OPEN'
  | 'POOL_CLOSED'
  | 'LEASE_RELEASED'
  | 'CONFIG_INVALID'
  | 'NESTED_ACQUIRE'
  | 'QUEUE_FULL'
  | 'CONNECTION_LIMIT'
  | 'LEAK'
  // issue 17: budgeted duplicate() and PgBouncer transaction mode
  | 'BUDGET_EXHAUSTED'
  | 'PGBOUNCER_UNSUPPORTED';

interface ErrorOptions {
  pool?: string | undefined;
  cause?: unknown;
}

/**
 * Root of lifeguard's errors. `instanceof` works across duplicated copies of the
 * package and under minification: it reads a `Symbol.for` brand and the stable
 * `code`, never the prototype chain or a class name (undici does the same).
 */
export abstract class LifeguardError extends Error {
  /** Stable machine-readable code. */
  abstract readonly code: LifeguardErrorCode;
  /** Name of the pool the error concerns, when there is one. */
  readonly pool: string | undefined;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    // each class sets its fixed `name` as a field; this covers a class that does not
    this.name = 'LifeguardError';
    this.pool = options?.pool;
  }

  /** @internal brand read by `Symbol.hasInstance` and {@link isLifeguardError}. */
  get [BRAND](): true {
    return true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (!isLifeguardError(value)) return false;
    // `this` is the class `instanceof` was asked about. The root matches every
    // lifeguard error; a class with a static `code` (each built-in one, and any
    // subclass of it, which inherits the static) matches the errors of that code,
    // whichever copy of the package made them.
    if (this === LifeguardError) return true;
    const code = (this as { code?: unknown }).code;
    if (typeof code !== 'string') return Function.prototype[Symbol.hasInstance].call(this, value);
    return (value as { code?: unknown }).code === code;
  }
}

/** True for any lifeguard error, from any copy of the package. */
export function isLifeguardError(value: unknown): value is LifeguardError {
  return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
}

/** Why an acquire gave up waiting. */
export type AcquireTimeoutCause = 'pool-full' | 'connect-failing' | 'circuit-open';

/** Counts at the moment an acquire timed out. */
export interface PoolSnapshot {
  /** Connections checked out. */
  readonly active: number;
  /** Connections open and free. */
  readonly idle: number;
  /** Callers waiting, including the one that timed out. */
  readonly waiting: number;
  /** The pool's connection budget. */
  readonly max: number;
}

/**
 * No connection became free within the acquire timeout. The message names the pool,
 * the counts and the longest holders grouped by the line of code that acquired them.
 */
export class AcquireTimeoutError extends LifeguardError {
  static readonly code = 'ACQUIRE_TIMEOUT' as const;
  readonly code = AcquireTimeoutError.code;
  override name = 'AcquireTimeoutError';
  /** How long the caller waited, in milliseconds. */
  readonly waitedMs: number;
  /** Which of the three causes it was. */
  readonly reason: AcquireTimeoutCause;
  /** Pool counts when the acquire gave up. */
  readonly snapshot: PoolSnapshot;
  /** True when the caller already held a lease of this pool (nested-acquire deadlock). */
  readonly nested: boolean;

  constructor(
    message: string,
    init: {
      pool: string;
      waitedMs: number;
      reason: AcquireTimeoutCause;
      snapshot: PoolSnapshot;
      nested: boolean;
      cause?: unknown;
    },
  ) {
    super(message, { pool: init.pool, cause: init.cause });
    this.waitedMs = init.waitedMs;
    this.reason = init.reason;
    this.snapshot = init.snapshot;
    this.nested = init.nested;
  }
}

/** The pool's circuit breaker is open: the server is considered down. */
export class CircuitOpenError extends LifeguardError {
  static readonly code = 'CIRCUIT_OPEN' as const;
  readonly code = CircuitOpenError.code;
  override name = 'CircuitOpenError';
  /** Milliseconds until the breaker lets a probe through. */
  readonly retryAfterMs: number;
  constructor(message: string, init: { pool: string; retryAfterMs: number; cause?: unknown }) {
    super(message, { pool: init.pool, cause: init.cause });
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** The pool is closing or closed. */
export class PoolClosedError extends LifeguardError {
  static readonly code = 'POOL_CLOSED' as const;
  readonly code = PoolClosedError.code;
  override name = 'PoolClosedError';
  /** `detail` follows the standard text (pg.Pool's wording, say). */
  constructor(pool: string, detail?: string) {
    super(`lifeguard: pool "${pool}" is closed${detail === undefined ? '' : `: ${detail}`}`, { pool });
  }
}

/**
 * A released lease (or its client) was used, or released a second time. Names
 * where the lease was acquired and where it was released.
 */
export class LeaseReleasedError extends LifeguardError {
  static readonly code = 'LEASE_RELEASED' as const;
  readonly code = LeaseReleasedError.code;
  override name = 'LeaseReleasedError';
  /** Id of the lease (or of the subscriber, listener or dedicated connection). */
  readonly leaseId: number;
  /** Where the lease was acquired (first user frame), when captured. */
  readonly acquiredAt: string | undefined;
  /** Where the lease was released (first user frame), when captured. */
  readonly releasedAt: string | undefined;
  constructor(init: {
    pool: string;
    leaseId: number;
    what: string;
    acquiredAt: string | undefined;
    releasedAt: string | undefined;
    /** Set when the lease's connection died: why. */
    died?: string | undefined;
    /** What was used: a lease (the default) or a closed subscriber, listener or dedicated connection. */
    handle?: 'lease' | 'subscriber' | 'listener' | 'dedicated connection' | undefined;
  }) {
    const handle = init.handle ?? 'lease';
    super(
      handle !== 'lease'
        ? `lifeguard: pool "${init.pool}": ${init.what} ${handle} #${init.leaseId} after it was closed` +
            ` (opened at ${init.acquiredAt ?? 'an unrecorded site'})`
        : init.died !== undefined
          ? `lifeguard: pool "${init.pool}": ${init.what} lease #${init.leaseId}, whose connection died (${init.died}); ` +
              `the pool closed it and freed its permit: acquire a new lease (acquired at ${init.acquiredAt ?? 'an unrecorded site'})`
          : `lifeguard: pool "${init.pool}": ${init.what} lease #${init.leaseId} after it was released` +
              ` (acquired at ${init.acquiredAt ?? 'an unrecorded site'}, released at ${init.releasedAt ?? 'an unrecorded site'})`,
      { pool: init.pool },
    );
    this.leaseId = init.leaseId;
    this.acquiredAt = init.acquiredAt;
    this.releasedAt = init.releasedAt;
  }
}

/** An option or environment variable is invalid. Names it and the bad value. */
export class ConfigError extends LifeguardError {
  static readonly code = 'CONFIG_INVALID' as const;
  readonly code = ConfigError.code;
  override name = 'ConfigError';
  /** The option path (e.g. `reconnect.maxMs`), when an option is at fault. */
  readonly option: string | undefined;
  /** The environment variable, when one is at fault. */
  readonly envVar: string | undefined;
  constructor(message: string, init?: { pool?: string; option?: string; envVar?: string }) {
    super(message, { pool: init?.pool });
    this.option = init?.option;
    this.envVar = init?.envVar;
  }
}

/** Thrown by the testing helpers when leases or dedicated connections are still open. */
export class LeakError extends LifeguardError {
  static readonly code = 'LEAK' as const;
  readonly code = LeakError.code;
  override name = 'LeakError';
  /** How many leaks the report lists. */
  readonly count: number;
  constructor(message: string, count: number) {
    super(message);
    this.count = count;
  }
}

/**
 * With `onNestedAcquire: 'throw'`: this async context already holds a lease of the
 * pool and acquired another, the pattern that deadlocks a full pool.
 */
export class NestedAcquireError extends LifeguardError {
  static readonly code = 'NESTED_ACQUIRE' as const;
  readonly code = NestedAcquireError.code;
  override name = 'NestedAcquireError';
  /** Where the lease already held was acquired. */
  readonly heldSite: string | undefined;
  /** Where the nested acquire was made. */
  readonly site: string | undefined;
  constructor(message: string, pool: string, heldSite: string | undefined, site: string | undefined) {
    super(message, { pool });
    this.heldSite = heldSite;
    this.site = site;
  }
}

/**
 * `maxWaiting` acquires already wait for a connection: this one is rejected at once
 * instead of joining the queue.
 */
export class QueueFullError extends LifeguardError {
  static readonly code = 'QUEUE_FULL' as const;
  readonly code = QueueFullError.code;
  override name = 'QueueFullError';
  /** The pool's `maxWaiting`. */
  readonly maxWaiting: number;
  /** Pool counts when the acquire was refused. */
  readonly snapshot: PoolSnapshot;
  constructor(message: string, init: { pool: string; maxWaiting: number; snapshot: PoolSnapshot }) {
    super(message, { pool: init.pool });
    this.maxWaiting = init.maxWaiting;
    this.snapshot = init.snapshot;
  }
}

// ---- issue 17: connections for other libraries, PgBouncer ------------------------------

/**
 * A connection was asked for synchronously (`duplicate()` on a Redis pool's shared
 * client, which BullMQ and other libraries call) and the pool's budget had no room: no
 * free permit and no idle pooled connection to close for one. Raise `max`, or give the
 * library fewer connections.
 */
export class BudgetExhaustedError extends LifeguardError {
  static readonly code = 'BUDGET_EXHAUSTED' as const;
  readonly code = BudgetExhaustedError.code;
  override name = 'BudgetExhaustedError';
  /** The pool's whole budget (`max`). */
  readonly max: number;
  /** Permits held, by kind, when the request was refused. */
  readonly held: Readonly<Record<'pooled' | 'shared' | 'dedicated' | 'listener' | 'subscriber', number>>;
  constructor(message: string, init: { pool: string; max: number; held: Readonly<Record<'pooled' | 'shared' | 'dedicated' | 'listener' | 'subscriber', number>> }) {
    super(message, { pool: init.pool });
    this.max = init.max;
    this.held = init.held;
  }
}

/** What a PgBouncer transaction-mode pool refuses. */
export type PgBouncerFeature = 'listen' | 'session-set' | 'prepared-statement' | 'advisory-lock' | 'session-state';

/**
 * A PostgreSQL pool with `pgbouncer: 'transaction'` refused something that breaks
 * behind PgBouncer in transaction mode: `listener()` / `LISTEN`, a session `SET`
 * outside a transaction, a named prepared statement (unless the bouncer supports
 * them), a session-level advisory lock, or other session state.
 */
export class PgBouncerUnsupportedError extends LifeguardError {
  static readonly code = 'PGBOUNCER_UNSUPPORTED' as const;
  readonly code = PgBouncerUnsupportedError.code;
  override name = 'PgBouncerUnsupportedError';
  /** Which feature was refused. */
  readonly feature: PgBouncerFeature;
  constructor(message: string, init: { pool: string; feature: PgBouncerFeature }) {
    super(message, { pool: init.pool });
    this.feature = init.feature;
  }
}

/**
 * A subscriber, listener or dedicated connection could not be opened because the
 * server refused it at its connection limit (Redis `maxclients`, PostgreSQL
 * `max_connections` or a role/database `CONNECTION LIMIT`). The message names the
 * limit and what the pool holds; `cause` is the server's error.
 */
export class ConnectionLimitError extends LifeguardError {
  static readonly code = 'CONNECTION_LIMIT' as const;
  readonly code = ConnectionLimitError.code;
  override name = 'ConnectionLimitError';
  /** The pool's effective ceiling on pooled connections, when one is in effect. */
  readonly ceiling: number | undefined;
  constructor(message: string, init: { pool: string; ceiling: number | undefined; cause?: unknown }) {
    super(message, { pool: init.pool, cause: init.cause });
    this.ceiling = init.ceiling;
  }
}

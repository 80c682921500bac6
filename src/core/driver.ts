/**
 * What the core needs from a database driver. The core knows no driver; pg/ and
 * redis/ each implement this.
 */
import type { DriverKind } from './events.js';
import type { ServerAddress } from './meter.js';

export interface Driver<C, F> {
  readonly kind: DriverKind;
  /** Where it connects (metrics attributes `server.address`, `server.port`); undefined when unknown. */
  readonly server?: ServerAddress | undefined;
  /** Opens one connection (honouring the connect timeout); rejects on failure. */
  create(): Promise<C>;
  /** Closes a connection; resolves once it is closed, never rejects. */
  destroy(conn: C): Promise<void>;
  /** Liveness check for a connection idle longer than the validation window. */
  validate(conn: C): Promise<boolean>;
  /**
   * Calls `onBroken` once when the connection errors or closes on its own, and
   * `onListen` when it starts listening for notifications (pg `LISTEN`), which makes
   * its lease a long-lived listener.
   */
  watch(conn: C, onBroken: (error: Error | undefined) => void, onListen: () => void): void;
  /**
   * Synchronous check at release: `undefined` when the connection can be reused as
   * is, else what must be reset (e.g. `'transaction status T'`, `'pending query'`).
   */
  dirtyReason(conn: C): string | undefined;
  /**
   * Tries to make a dirty connection clean. Resolves the name of the reset done
   * (e.g. `'rollback'`), or `undefined` when it cannot be reset and must be destroyed.
   */
  reset(conn: C, reason: string): Promise<string | undefined>;
  /**
   * Whether a failed `create()` means the server or the network failed (`true`, the
   * default) rather than the application's connect hook on a working connection
   * (`false`): only the former counts toward reconnect backoff and the breaker.
   */
  isConnectFailure?(error: unknown): boolean;
  /** True when the connection is closed or closing: at release it leaves the pool at once. */
  isClosed?(conn: C): boolean;
  /**
   * True when `error` (from `create()`) is the server refusing a connection at its
   * connection limit (PostgreSQL `53300`, Redis `max number of clients reached`).
   */
  isLimitError?(error: unknown): boolean;
  /** The user-facing client of a lease (a facade that refuses use after release). */
  wrap(conn: C, lease: LeaseHandle): F;
  /**
   * Cuts every connection still being opened or closed (their sockets destroyed), so
   * that their `create()` / `destroy()` settle now: `close()` calls it when its
   * timeout has passed.
   */
  forceClose?(): void;
}

/** What a facade needs of its lease. */
export interface LeaseHandle {
  readonly id: number;
  readonly released: boolean;
  release(error?: unknown): void;
  /** @internal throws `LeaseReleasedError` for the use `what` (e.g. `'query on'`). */
  assertUsable(what: string): void;
}

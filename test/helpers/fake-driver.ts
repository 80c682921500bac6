/**
 * A driver for the core with no server: only for what a server cannot be made to
 * do on demand (a connect that fails at a chosen moment, a dirty flag).
 */
import type { Driver, LeaseHandle } from '../../src/core/driver.js';

export interface FakeConn {
  readonly id: number;
  closed: boolean;
  /** The server ended it (`fail()`), before lifeguard closed it. */
  lost?: boolean;
  dirty: string | undefined;
  fail?: (err: Error | undefined) => void;
}

export class FakeDriver implements Driver<FakeConn, FakeConn> {
  readonly kind = 'pg' as const;
  opened = 0;
  closed = 0;
  /** When set, create() rejects with it. */
  failWith: Error | undefined;
  /** When set, create() waits for this promise first. */
  gate: Promise<void> | undefined;
  resetWorks = true;
  #seq = 0;

  async create(): Promise<FakeConn> {
    if (this.gate) await this.gate;
    if (this.failWith) throw this.failWith;
    this.opened++;
    return { id: ++this.#seq, closed: false, dirty: undefined };
  }
  async destroy(conn: FakeConn): Promise<void> {
    conn.closed = true;
    this.closed++;
  }
  async validate(conn: FakeConn): Promise<boolean> {
    return !conn.closed;
  }
  /** `conn.fail(err)` is the server ending the connection: an error, and the socket gone. */
  watch(conn: FakeConn, onBroken: (error: Error | undefined) => void): void {
    conn.fail = (err) => {
      conn.lost = true;
      onBroken(err);
    };
  }
  /** An error with `code: '53300'` is the server's connection limit (as PostgreSQL says it). */
  isLimitError(error: unknown): boolean {
    return (error as { code?: unknown } | undefined)?.code === '53300';
  }
  /** An error with `hook: true` is the application's connect hook failing on a working connection. */
  isConnectFailure(error: unknown): boolean {
    return (error as { hook?: unknown } | undefined)?.hook !== true;
  }
  isClosed(conn: FakeConn): boolean {
    return conn.lost === true;
  }
  dirtyReason(conn: FakeConn): string | undefined {
    return conn.dirty;
  }
  async reset(conn: FakeConn): Promise<string | undefined> {
    if (!this.resetWorks) return undefined;
    conn.dirty = undefined;
    return 'reset';
  }
  wrap(conn: FakeConn, _lease: LeaseHandle): FakeConn {
    return conn;
  }
  /** Connections open right now. */
  get open(): number {
    return this.opened - this.closed;
  }
}

/** The pg driver of the core: opens, checks, resets and closes `pg.Client`s. */
import type pg from 'pg';
import { loadPg } from '../core/peer.js';
import type { Driver, LeaseHandle } from '../core/driver.js';
import { scrubError } from '../core/redact.js';
import { PgPoolClient } from './client.js';
import type { ResolvedPgOptions } from './options.js';

interface PgInternals {
  _ending?: boolean;
  _ended?: boolean;
  _connectionError?: boolean;
  _queryable?: boolean;
  _activeQuery?: unknown;
  _queryQueue?: unknown[];
  getTransactionStatus?(): string | null;
  connection?: {
    stream?: { destroy?(): void; ref?(): void; unref?(): void; destroyed?: boolean };
    prependListener?(event: string, fn: (msg: { status?: string; severity?: string; message?: string }) => void): unknown;
  };
  [kState]?: ConnState;
}

/** What the driver reads off the wire itself, so release can judge by state on every pg version. */
interface ConnState {
  /** Transaction status of the last ReadyForQuery (`I`, `T`, `E`). */
  tx: string;
  /** Set once the server sent a FATAL or PANIC: the session is over. */
  fatal: string | undefined;
}

const kState = Symbol('lifeguard.pgConnState');

/** `<app>:<pool>:<pid>`, the `application_name` of every connection. */
export function pgConnectionName(app: string, pool: string): string {
  return `${app}:${pool}:${process.pid}`;
}

/**
 * True when an error is not a server error about a statement: socket errors,
 * timeouts, and server errors that end the session (FATAL, PANIC, class 08
 * connection exceptions, 57P0x). Releases do not use it: they judge the connection
 * by its state (no query in flight, transaction status idle, socket alive), so an
 * application error thrown inside `withConnection` leaves a clean connection pooled.
 */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  if (!(err instanceof loadPg().DatabaseError)) return true;
  const sev = err.severity;
  if (sev === 'FATAL' || sev === 'PANIC') return true;
  const code = err.code ?? '';
  return code.startsWith('08') || code.startsWith('57P');
}

export class PgDriver implements Driver<pg.Client, PgPoolClient> {
  readonly kind = 'pg' as const;
  readonly #opts: ResolvedPgOptions;
  readonly #Client: new (config: pg.ClientConfig) => pg.Client;
  readonly #config: pg.ClientConfig;

  constructor(opts: ResolvedPgOptions, Client: new (config: pg.ClientConfig) => pg.Client) {
    this.#opts = opts;
    this.#Client = Client;
    this.#config = {
      ...opts.client,
      application_name: pgConnectionName(opts.common.app, opts.common.name),
      connectionTimeoutMillis: opts.common.connectTimeoutMs,
    };
  }

  async create(): Promise<pg.Client> {
    const client = new this.#Client(this.#config);
    // Until watch() attaches the real listener, an 'error' must not crash the process.
    client.on('error', noop);
    track(client);
    try {
      await client.connect();
      if (this.#opts.onConnect) await this.#opts.onConnect(client);
      const verify = this.#opts.verify;
      if (verify) {
        await new Promise<void>((resolve, reject) => {
          verify(client, (err) => (err ? reject(err) : resolve()));
        });
      }
    } catch (err) {
      void this.destroy(client);
      throw scrubError(err, this.#opts.secrets);
    }
    if (this.#opts.allowExitOnIdle) internals(client).connection?.stream?.unref?.();
    return client;
  }

  destroy(client: pg.Client): Promise<void> {
    const timeoutMs = this.#opts.common.connectTimeoutMs;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        internals(client).connection?.stream?.destroy?.();
        resolve();
      }, timeoutMs);
      timer.unref?.();
      client.end().then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        () => {
          clearTimeout(timer);
          internals(client).connection?.stream?.destroy?.();
          resolve();
        },
      );
    });
  }

  async validate(client: pg.Client): Promise<boolean> {
    if (this.dirtyReason(client) !== undefined) return false;
    const timeoutMs = this.#opts.common.connectTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const query = client.query('SELECT 1').then(() => true);
      query.catch(() => undefined); // settles after the timeout too
      const ok = await Promise.race([
        query,
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
        }),
      ]);
      return ok;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  watch(client: pg.Client, onBroken: (error: Error | undefined) => void): void {
    client.on('error', (err: Error) => onBroken(scrubError(err, this.#opts.secrets)));
    client.on('end', () => onBroken(undefined));
  }

  /**
   * The connection's state, never the error the caller saw: closed (ending, a
   * connection error, a FATAL from the server, the socket gone), a query in flight,
   * or a transaction open or failed. Undefined: idle and alive, back to the pool.
   */
  dirtyReason(client: pg.Client): string | undefined {
    const c = internals(client);
    const st = c[kState];
    if (c._ending || c._ended || c._connectionError || c._queryable === false || c.connection?.stream?.destroyed === true) {
      return 'connection closed';
    }
    if (st?.fatal !== undefined) return 'connection closed';
    if (c._activeQuery || (c._queryQueue !== undefined && c._queryQueue.length > 0)) return 'query still pending';
    const tx = st !== undefined ? st.tx : c.getTransactionStatus ? c.getTransactionStatus() : 'I';
    if (tx === 'T' || tx === 'E') return `transaction status ${tx}`;
    return undefined;
  }

  isLimitError(error: unknown): boolean {
    // 53300 too_many_connections: max_connections, and role or database CONNECTION LIMIT
    return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '53300';
  }

  async reset(client: pg.Client, reason: string): Promise<string | undefined> {
    if (reason === 'query still pending') {
      // A failed query rejects on ErrorResponse, before its ReadyForQuery: give that a moment.
      if (!(await settles(client, 200))) return undefined;
      const again = this.dirtyReason(client);
      if (again === undefined) return 'waited for pending query';
      if (!again.startsWith('transaction')) return undefined;
    } else if (!reason.startsWith('transaction')) {
      return undefined;
    }
    await client.query('ROLLBACK');
    return this.dirtyReason(client) === undefined ? 'rollback' : undefined;
  }

  wrap(client: pg.Client, lease: LeaseHandle): PgPoolClient {
    return new PgPoolClient(client, lease);
  }

  /** Keeps the process alive while a connection is in use (allowExitOnIdle). */
  setActive(client: pg.Client, active: boolean): void {
    if (!this.#opts.allowExitOnIdle) return;
    const s = internals(client).connection?.stream;
    if (active) s?.ref?.();
    else s?.unref?.();
  }
}

/** Resolves true once the client has no active or queued query, false after `ms`. */
function settles(client: pg.Client, ms: number): Promise<boolean> {
  const c = internals(client);
  if ((c._queryQueue?.length ?? 0) > 0) return Promise.resolve(false);
  const conn = (client as unknown as { connection?: NodeJS.EventEmitter }).connection;
  if (!conn) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      conn.removeListener('readyForQuery', onReady);
      resolve(ok);
    };
    // pg clears the active query in its own readyForQuery handler; check after it ran
    const onReady = (): void => void setImmediate(() => done(!c._activeQuery));
    const timer = setTimeout(() => done(false), ms);
    conn.on('readyForQuery', onReady);
  });
}

/**
 * Follows the connection's ReadyForQuery transaction status and FATAL errors from the
 * wire (pg < 8.21 has no getTransactionStatus()). Prepended, so the state is current
 * before pg calls the query's callback.
 */
function track(client: pg.Client): void {
  const c = internals(client);
  const con = c.connection;
  if (con?.prependListener === undefined) return; // a Client without pg's Connection (e.g. pg-native): getTransactionStatus()
  const st: ConnState = { tx: 'I', fatal: undefined };
  c[kState] = st;
  con.prependListener('readyForQuery', (msg) => {
    if (typeof msg.status === 'string') st.tx = msg.status;
  });
  con.prependListener('errorMessage', (msg) => {
    if (msg.severity === 'FATAL' || msg.severity === 'PANIC') st.fatal = msg.message ?? msg.severity;
  });
}

function internals(client: pg.Client): PgInternals {
  return client as unknown as PgInternals;
}

function noop(): void {}

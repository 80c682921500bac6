/** The pg driver of the core: opens, checks, resets and closes `pg.Client`s. */
import type pg from 'pg';
import { loadPg } from '../core/peer.js';
import type { Driver, LeaseHandle } from '../core/driver.js';
import { scrubError } from '../core/redact.js';
import { pgServer } from '../core/server.js';
import { installBouncerCheck } from './bouncer.js';
import { checkOut, installGuard, type PgPoolClient, rawQuery } from './client.js';
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

/** Errors a connect hook (`onConnect`, `verify`) gave on a connection that works. */
const hookErrors = new WeakSet<object>();

export class PgDriver implements Driver<pg.Client, PgPoolClient> {
  readonly kind = 'pg' as const;
  /** Where it connects (metrics attributes). */
  readonly server: ReturnType<typeof pgServer>;
  readonly #opts: ResolvedPgOptions;
  readonly #Client: new (config: pg.ClientConfig) => pg.Client;
  readonly #config: pg.ClientConfig;
  /** Connections on which `LISTEN` ran: `UNLISTEN *` before the next user gets them. */
  readonly #listening = new WeakSet<pg.Client>();
  readonly #log: (message: string) => void;
  /** Connections being opened, and being closed, for forceClose(). */
  readonly #opening = new Set<pg.Client>();
  readonly #closing = new Set<pg.Client>();

  constructor(opts: ResolvedPgOptions, Client: new (config: pg.ClientConfig) => pg.Client) {
    this.#opts = opts;
    this.#Client = Client;
    this.#log = opts.log ?? noop;
    this.#config = {
      ...opts.client,
      application_name: pgConnectionName(opts.common.app, opts.common.name),
      connectionTimeoutMillis: opts.common.connectTimeoutMs,
    };
    this.server = pgServer(opts.client);
  }

  async create(): Promise<pg.Client> {
    this.#log('connecting new client');
    const client = new this.#Client(this.#config);
    // Until watch() attaches the real listener, an 'error' must not crash the process.
    client.on('error', noop);
    this.#opening.add(client);
    track(client);
    try {
      // the callback form: a custom Client (pg.native, test doubles) need not return promises
      await new Promise<void>((resolve, reject) => {
        const r = (client.connect as (cb: (err?: Error | null) => void) => unknown)((err) => (err ? reject(err) : resolve()));
        if (isPromise(r)) r.then(() => resolve(), reject);
      });
    } catch (err) {
      this.#log('client failed to connect');
      this.#opening.delete(client);
      void this.destroy(client);
      throw scrubError(err, this.#opts.secrets);
    }
    this.#log('new client connected');
    try {
      if (this.#opts.onConnect) await this.#opts.onConnect(client);
      const verify = this.#opts.verify;
      if (verify) {
        await new Promise<void>((resolve, reject) => {
          verify(client, (err) => (err ? reject(err) : resolve()));
        });
      }
    } catch (err) {
      // a hook failure on a working connection is the application's, not the server's
      if (typeof err === 'object' && err !== null && !this.isClosed(client)) hookErrors.add(err);
      void this.destroy(client);
      throw scrubError(err, this.#opts.secrets);
    } finally {
      this.#opening.delete(client);
    }
    // issue 17: PgBouncer transaction mode refuses session features (before the guard, which calls it)
    if (this.#opts.pgbouncer) installBouncerCheck(client, this.#opts.pgbouncer, this.#opts.common.name);
    installGuard(client);
    if (this.#opts.allowExitOnIdle) internals(client).connection?.stream?.unref?.();
    return client;
  }

  isConnectFailure(error: unknown): boolean {
    return !(typeof error === 'object' && error !== null && hookErrors.has(error));
  }

  isClosed(client: pg.Client): boolean {
    const c = internals(client);
    return c._ending === true || c._connectionError === true || c._queryable === false;
  }

  destroy(client: pg.Client): Promise<void> {
    const timeoutMs = this.#opts.common.connectTimeoutMs;
    this.#closing.add(client);
    return new Promise<void>((resolve) => {
      if (typeof client.end !== 'function') {
        this.#closing.delete(client);
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        internals(client).connection?.stream?.destroy?.();
        done();
      }, timeoutMs);
      timer.unref?.();
      const done = (): void => {
        clearTimeout(timer);
        this.#closing.delete(client);
        resolve();
      };
      try {
        // the callback form, which every pg client (and pg.native's) supports
        const r = (client.end as (cb: () => void) => unknown)(done);
        if (isPromise(r)) r.then(done, done);
      } catch {
        internals(client).connection?.stream?.destroy?.();
        done();
      }
    });
  }

  async validate(client: pg.Client): Promise<boolean> {
    if (this.dirtyReason(client) !== undefined) return false;
    const timeoutMs = this.#opts.common.connectTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const query = (rawQuery(client).call(client, 'SELECT 1') as Promise<unknown>).then(() => true);
      query.catch(() => undefined); // settles after the timeout too
      const ok = await Promise.race([
        query,
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
          timer.unref?.();
        }),
      ]);
      return ok;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  watch(client: pg.Client, onBroken: (error: Error | undefined) => void, onListen: () => void): void {
    client.on('error', (err: Error) => onBroken(scrubError(err, this.#opts.secrets)));
    client.on('end', () => onBroken(undefined));
    // one listener per connection (pg emits every CommandComplete anyway): a lease that
    // ran LISTEN is a long-lived listener (graphile-worker holds one for its whole life)
    const conn = (client as unknown as { connection?: NodeJS.EventEmitter }).connection;
    conn?.on('commandComplete', (msg: { text?: string }) => {
      if (msg.text === 'LISTEN') {
        this.#listening.add(client);
        onListen();
      }
    });
  }

  /**
   * The connection's state, never the error the caller saw: closed (ending, a
   * connection error, a FATAL from the server, the socket gone), a query in flight,
   * or a transaction open or failed. Undefined: idle and alive, back to the pool.
   */
  dirtyReason(client: pg.Client): string | undefined {
    const c = internals(client);
    const st = c[kState];
    if (this.isClosed(client) || c._ended || c.connection?.stream?.destroyed === true) return 'connection closed';
    if (st?.fatal !== undefined) return 'connection closed';
    if (c._activeQuery || (c._queryQueue !== undefined && c._queryQueue.length > 0)) return 'query still pending';
    const tx = st !== undefined ? st.tx : c.getTransactionStatus ? c.getTransactionStatus() : 'I';
    if (tx === 'T' || tx === 'E') return `transaction status ${tx}`;
    if (this.#listening.has(client)) return 'listening';
    return undefined;
  }

  isLimitError(error: unknown): boolean {
    // 53300 too_many_connections: max_connections, and role or database CONNECTION LIMIT
    return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '53300';
  }

  async reset(client: pg.Client, reason: string): Promise<string | undefined> {
    const done = await this.#reset(client, reason);
    if (done === undefined || !this.#listening.has(client)) return done;
    // the next user must not get this one's notifications
    await (rawQuery(client).call(client, 'UNLISTEN *') as Promise<unknown>);
    this.#listening.delete(client);
    return done === 'listening' ? 'unlisten' : `${done}, unlisten`;
  }

  async #reset(client: pg.Client, reason: string): Promise<string | undefined> {
    if (reason === 'listening') return reason;
    if (reason === 'query still pending') {
      // A failed query rejects on ErrorResponse, before its ReadyForQuery: give that a moment.
      if (!(await settles(client, 200))) return undefined;
      const again = this.dirtyReason(client);
      if (again === undefined || again === 'listening') return 'waited for pending query';
      if (!again.startsWith('transaction')) return undefined;
    } else if (!reason.startsWith('transaction')) {
      return undefined;
    }
    await (rawQuery(client).call(client, 'ROLLBACK') as Promise<unknown>);
    return this.dirtyReason(client) === undefined ? 'rollback' : undefined;
  }

  wrap(client: pg.Client, lease: LeaseHandle): PgPoolClient {
    return checkOut(client, lease);
  }

  /** Destroys the socket of every connection still being opened or closed. */
  forceClose(): void {
    for (const c of [...this.#opening, ...this.#closing]) internals(c).connection?.stream?.destroy?.();
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

function isPromise(v: unknown): v is Promise<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

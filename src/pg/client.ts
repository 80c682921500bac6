/**
 * The client a pg lease hands out: forwards to the pooled `pg.Client` while the
 * lease is held and throws `LEASE_RELEASED` after. A plain class (one field read per
 * call), not a Proxy. Listeners added through it are removed at release, so they do
 * not follow the connection to its next user.
 */
import type pg from 'pg';
import type { LeaseHandle } from '../core/driver.js';
import { kDetach } from '../core/lease.js';


type Listener = (...args: never[]) => void;

/**
 * A leased PostgreSQL client: the pg.PoolClient surface (`query`, `release(err?)`,
 * events, escaping, COPY through `query`) plus `Symbol.asyncDispose`.
 */
export class PgPoolClient implements AsyncDisposable {
  readonly #raw: pg.Client;
  readonly #lease: LeaseHandle;
  #listeners: [string | symbol, Listener][] | undefined;

  /** @internal */
  constructor(raw: pg.Client, lease: LeaseHandle) {
    this.#raw = raw;
    this.#lease = lease;
  }

  #client(what: string): pg.Client {
    this.#lease.assertUsable(what);
    return this.#raw;
  }

  /** Runs a query on this connection; every pg form (text, config, values, callback, submittable). */
  declare query: pg.PoolClient['query'];

  /** @internal */
  _query(args: unknown[]): unknown {
    const cb = args[args.length - 1];
    if (typeof cb === 'function' && this.#lease.released) {
      // callback form: the error goes to the callback (asynchronously), as pg reports errors
      let err: unknown;
      try {
        this.#lease.assertUsable('query on');
      } catch (e) {
        err = e;
      }
      process.nextTick(cb as (e: unknown) => void, err);
      return undefined;
    }
    const c = this.#client('query on') as unknown as { query(...a: unknown[]): unknown };
    return c.query(...args);
  }

  /** Returns the connection to the pool; `release(err)` or `release(true)` closes it instead (pg semantics). */
  release(err?: Error | boolean): void {
    this.#lease.release(err === false ? undefined : err);
  }

  /** Releases unless already released: `await using client = await pool.connect()`. */
  [Symbol.asyncDispose](): Promise<void> {
    if (!this.#lease.released) this.#lease.release();
    return Promise.resolve();
  }

  /** `'I'` idle, `'T'` in a transaction, `'E'` in a failed transaction. */
  getTransactionStatus(): string | null {
    const c = this.#client('getTransactionStatus on') as unknown as { getTransactionStatus?(): string | null };
    return c.getTransactionStatus ? c.getTransactionStatus() : null;
  }

  escapeIdentifier(str: string): string {
    return this.#raw.escapeIdentifier(str);
  }

  escapeLiteral(str: string): string {
    return this.#raw.escapeLiteral(str);
  }

  setTypeParser(...args: Parameters<pg.Client['setTypeParser']>): void {
    this.#client('setTypeParser on').setTypeParser(...args);
  }

  getTypeParser(...args: Parameters<pg.Client['getTypeParser']>): ReturnType<pg.Client['getTypeParser']> {
    return this.#client('getTypeParser on').getTypeParser(...args);
  }

  /** Server process id of this connection. */
  get processID(): number | undefined {
    return (this.#raw as unknown as { processID?: number }).processID;
  }
  get database(): string | undefined {
    return this.#raw.database;
  }
  get user(): string | undefined {
    return this.#raw.user;
  }
  get host(): string {
    return this.#raw.host;
  }
  get port(): number {
    return this.#raw.port;
  }
  /** The pg.Client connection object; use with care, it outlives the lease. */
  get connection(): unknown {
    return (this.#client('connection of') as unknown as { connection: unknown }).connection;
  }

  on(event: string | symbol, fn: Listener): this {
    (this.#client('on() of') as unknown as NodeJS.EventEmitter).on(event, fn as (...a: unknown[]) => void);
    (this.#listeners ??= []).push([event, fn]);
    return this;
  }
  addListener(event: string | symbol, fn: Listener): this {
    return this.on(event, fn);
  }
  once(event: string | symbol, fn: Listener): this {
    (this.#client('once() of') as unknown as NodeJS.EventEmitter).once(event, fn as (...a: unknown[]) => void);
    (this.#listeners ??= []).push([event, fn]);
    return this;
  }
  off(event: string | symbol, fn: Listener): this {
    (this.#raw as unknown as NodeJS.EventEmitter).removeListener(event, fn as (...a: unknown[]) => void);
    return this;
  }
  removeListener(event: string | symbol, fn: Listener): this {
    return this.off(event, fn);
  }
  removeAllListeners(event?: string | symbol): this {
    // only what was added through this lease: the pool's own listeners stay
    const list = this.#listeners;
    if (list) {
      for (const [e, fn] of list) if (event === undefined || e === event) (this.#raw as unknown as NodeJS.EventEmitter).removeListener(e, fn as (...a: unknown[]) => void);
      this.#listeners = event === undefined ? undefined : list.filter(([e]) => e !== event);
    }
    return this;
  }
  listenerCount(event: string | symbol): number {
    return (this.#raw as unknown as NodeJS.EventEmitter).listenerCount(event);
  }

  /** @internal */
  [kDetach](): void {
    if (this.#listeners) this.removeAllListeners();
  }
}

Object.defineProperty(PgPoolClient.prototype, 'query', {
  value: function query(this: PgPoolClient, ...args: unknown[]): unknown {
    return this._query(args);
  },
  writable: true,
  configurable: true,
});

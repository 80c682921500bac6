/** The Redis driver of the core: exclusive ioredis connections for leases. */
import { Redis, type RedisOptions } from 'ioredis';
import type { Driver, LeaseHandle } from '../core/driver.js';
import { scrubError } from '../core/redact.js';
import { redisServer } from '../core/server.js';
import { connState, leaseClient } from './client.js';
import type { ResolvedRedisOptions } from './options.js';

/** `lifeguard:<app>:<pool>:<pid>`, the `CLIENT SETNAME` of every connection. */
export function redisConnectionName(app: string, pool: string): string {
  // CLIENT SETNAME refuses spaces and newlines
  return `lifeguard:${app}:${pool}:${process.pid}`.replace(/\s/g, '_');
}

/** Options for one ioredis connection of this pool. */
export function connectionOptions(opts: ResolvedRedisOptions, extra: RedisOptions): RedisOptions {
  return {
    ...opts.redisOptions,
    connectionName: redisConnectionName(opts.common.app, opts.common.name),
    connectTimeout: opts.common.connectTimeoutMs,
    ...extra,
  };
}

interface RedisInternals {
  commandQueue?: { length: number };
  condition?: { select?: number; subscriber?: unknown } | null;
}

export class RedisDriver implements Driver<Redis, Redis> {
  readonly kind = 'redis' as const;
  /** Where it connects (metrics attributes). */
  readonly server: ReturnType<typeof redisServer>;
  readonly #opts: ResolvedRedisOptions;
  readonly #connOptions: RedisOptions;
  /** Connections being opened or closed, for forceClose(). */
  readonly #pending = new Set<Redis>();

  constructor(opts: ResolvedRedisOptions) {
    this.#opts = opts;
    this.#connOptions = connectionOptions(opts, {
      lazyConnect: true,
      // a pooled connection that breaks is replaced by the pool, not retried in place
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    this.server = redisServer(opts.url, opts.redisOptions);
  }

  async create(): Promise<Redis> {
    const r = new Redis(this.#opts.url, this.#connOptions);
    // Until watch() attaches the real listener, keep the last error: ioredis rejects
    // connect() with a bare "Connection is closed." when the reason was ECONNREFUSED or
    // "max number of clients reached".
    let last: unknown;
    let reply: unknown;
    const onError = (err: unknown): void => {
      last = err;
      // the server's own words (e.g. "max number of clients reached") beat the EPIPE that follows
      if (err instanceof Error && err.name === 'ReplyError') reply ??= err;
    };
    r.on('error', onError);
    let accepted = false;
    r.once('connect', () => {
      accepted = true;
    });
    // ioredis's connectTimeout covers the TCP connect only: a server that accepts and then
    // never answers (hung, stopped) would keep connect() pending forever
    let timer: ReturnType<typeof setTimeout> | undefined;
    this.#pending.add(r);
    try {
      await Promise.race([
        r.connect(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`lifeguard: redis ${this.#opts.target}: no answer within connectTimeoutMs (${this.#opts.common.connectTimeoutMs} ms) after connecting`)),
            this.#opts.common.connectTimeoutMs,
          );
        }),
      ]);
      // CLIENT SETNAME's reply (an error when the server is full) arrives after connect
      if (r.status !== 'ready') throw last ?? new Error(`connection ${r.status}`);
      // a SELECT the server refused (db out of range) leaves a ready connection on db 0: refuse it
      if (reply !== undefined) throw reply;
    } catch (err) {
      r.disconnect();
      const hung = err instanceof Error && err.message.startsWith('lifeguard: redis');
      const generic = !hung && (!(err instanceof Error) || err.message === 'Connection is closed.' || /EPIPE|ECONNRESET/.test(err.message));
      let reason = reply ?? (generic && last instanceof Error ? last : err);
      if (reply === undefined && generic && accepted) {
        // Redis at maxclients accepts, writes its error and closes before the client reads it
        reason = new Error(
          `lifeguard: redis ${this.#opts.target}: the server closed the connection right after accepting it ` +
            `(${last instanceof Error ? last.message : 'closed'}); Redis does this when maxclients is reached`,
          { cause: last ?? err },
        );
      }
      throw scrubError(reason, this.#opts.secrets);
    } finally {
      clearTimeout(timer);
      this.#pending.delete(r);
      r.removeListener('error', onError);
      r.on('error', noop);
    }
    return r;
  }

  destroy(r: Redis): Promise<void> {
    if (r.status === 'end') return Promise.resolve();
    this.#pending.add(r);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(r);
        r.disconnect();
        resolve();
      }, this.#opts.common.connectTimeoutMs);
      timer.unref?.();
      r.once('end', () => {
        this.#pending.delete(r);
        clearTimeout(timer);
        resolve();
      });
      // pending blocking commands: close the socket rather than wait for QUIT's turn
      if (internals(r).commandQueue?.length) r.disconnect();
      else r.quit().catch(() => r.disconnect());
    });
  }

  async validate(r: Redis): Promise<boolean> {
    if (r.status !== 'ready') return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      const ping = r.ping().then((p) => p === 'PONG');
      ping.catch(() => undefined); // settles after the timeout too
      return await Promise.race([
        ping,
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), this.#opts.common.connectTimeoutMs);
        }),
      ]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  watch(r: Redis, onBroken: (error: Error | undefined) => void): void {
    r.on('error', (err: Error) => onBroken(scrubError(err, this.#opts.secrets)));
    r.once('end', () => onBroken(undefined));
    r.once('close', () => onBroken(undefined));
  }

  dirtyReason(r: Redis): string | undefined {
    if (r.status !== 'ready') return `connection ${r.status}`;
    const i = internals(r);
    if (i.commandQueue !== undefined && i.commandQueue.length > 0) return 'command still pending';
    const s = connState(r);
    if (s.poisoned !== undefined) return s.poisoned;
    if (i.condition?.subscriber) return 'subscriber mode';
    const reasons: string[] = [];
    if (s.inMulti) reasons.push('MULTI without EXEC');
    if (s.watched) reasons.push('WATCH');
    const db = i.condition?.select ?? this.#opts.db;
    if (db !== this.#opts.db) reasons.push(`SELECT ${db}`);
    return reasons.length > 0 ? reasons.join(', ') : undefined;
  }

  async reset(r: Redis, reason: string): Promise<string | undefined> {
    const s = connState(r);
    if (s.poisoned !== undefined || reason.startsWith('connection') || reason === 'command still pending' || reason === 'subscriber mode') {
      return undefined;
    }
    const done: string[] = [];
    if (s.inMulti) {
      await r.discard();
      done.push('DISCARD');
    }
    if (s.watched) {
      await r.unwatch();
      done.push('UNWATCH');
    }
    s.inMulti = false;
    s.watched = false;
    const db = internals(r).condition?.select ?? this.#opts.db;
    if (db !== this.#opts.db) {
      await r.select(this.#opts.db);
      done.push(`SELECT ${this.#opts.db}`);
    }
    return done.join(', ') || 'none';
  }

  wrap(r: Redis, lease: LeaseHandle): Redis {
    return leaseClient(r, lease);
  }

  /** Disconnects every connection still being opened or closed (QUIT to a server that does not answer). */
  forceClose(): void {
    for (const r of this.#pending) r.disconnect();
    this.#pending.clear();
  }
}

function internals(r: Redis): RedisInternals {
  return r as unknown as RedisInternals;
}

function noop(): void {}

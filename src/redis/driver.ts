/** The Redis driver of the core: exclusive ioredis connections for leases. */
import type { Redis, RedisOptions } from 'ioredis';
import { loadIoredis } from '../core/peer.js';
import type { Driver, LeaseHandle } from '../core/driver.js';
import { scrubError } from '../core/redact.js';
import { redisServer } from '../core/server.js';
import { connState, leaseClient } from './client.js';
import { applyCommandTimeout, isRedisLimitError, openBounded } from './connection.js';
import type { ResolvedRedisOptions } from './options.js';

/** `lifeguard:<app>:<pool>:<pid>`, the `CLIENT SETNAME` of every connection. */
export function redisConnectionName(app: string, pool: string): string {
  // CLIENT SETNAME refuses spaces and newlines
  return `lifeguard:${app}:${pool}:${process.pid}`.replace(/\s/g, '_');
}

/**
 * Options for one ioredis connection of this pool. `commandTimeout` is left out:
 * lifeguard applies it itself, to every command but the blocking ones
 * (`applyCommandTimeout`).
 */
export function connectionOptions(opts: ResolvedRedisOptions, extra: RedisOptions): RedisOptions {
  return {
    ...opts.redisOptions,
    commandTimeout: undefined,
    connectionName: redisConnectionName(opts.common.app, opts.common.name),
    connectTimeout: opts.common.connectTimeoutMs,
    ...extra,
  };
}

/** The pool's command timeout (`redisOptions.commandTimeout`), for `applyCommandTimeout`. */
export function commandTimeoutOf(opts: ResolvedRedisOptions): number | undefined {
  return opts.redisOptions.commandTimeout;
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
    const r = new (loadIoredis().Redis)(this.#opts.url, this.#connOptions);
    applyCommandTimeout(r, commandTimeoutOf(this.#opts));
    this.#pending.add(r);
    try {
      // every step (connect, AUTH, SELECT, CLIENT SETNAME, ready check) within connectTimeoutMs
      await openBounded(r, this.#opts.common.connectTimeoutMs, this.#opts.target, `redis ${this.#opts.target}`);
    } catch (err) {
      throw scrubError(err, this.#opts.secrets);
    } finally {
      this.#pending.delete(r);
      r.on('error', noop);
    }
    return r;
  }

  isLimitError(error: unknown): boolean {
    return isRedisLimitError(error);
  }

  /** True once the connection is closing or closed: at release it leaves the pool at once. */
  isClosed(r: Redis): boolean {
    return r.status === 'end' || r.status === 'close' || r.status === 'reconnecting';
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

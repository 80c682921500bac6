/**
 * The process-wide pool manager: get-or-create pools by name, one event stream for
 * all of them, tags for attribution, and a graceful close of everything.
 * Survives duplicated copies of the package (`globalThis` + `Symbol.for`).
 */
import { runWithTag } from './core/context.js';
import { ConfigError } from './core/errors.js';
import type { EventListener, LeaseInfo } from './core/events.js';
import type { CloseResult } from './core/pool.js';
import { registry } from './core/registry.js';
import { onPoolClosed } from './core/closed.js';
import { MAX_NAME_LENGTH, show } from './core/options.js';
import { hasUnsafeChars } from './core/text.js';
import { LifeguardPgPool } from './pg/pool.js';
import type { PgPoolOptions } from './pg/options.js';
import { LifeguardRedisPool } from './redis/pool.js';
import type { RedisPoolOptions } from './redis/options.js';
import type { Cluster } from 'ioredis'; // issue 17
import type { RedisClusterOptions } from './redis/cluster.js';
import type { RedisClient } from './redis/topology.js';
import { pgOptionsFromEnv, redisOptionsFromEnv } from './env.js';

interface Entry<P> {
  readonly pool: P;
  readonly options: object;
}

/** What `fromEnv()` created. */
export interface EnvPools {
  /** From `REDIS_URL`, named `"default"`; undefined when it is not set. */
  readonly redis: LifeguardRedisPool | undefined;
  /** From `DATABASE_URL` / `PG*`, named `"default"`; undefined when not set. */
  readonly pg: LifeguardPgPool | undefined;
}

/** The process-wide registry of pools. Get it with {@link getPoolManager}. */
export class PoolManager {
  readonly #pg = new Map<string, Entry<LifeguardPgPool>>();
  readonly #redis = new Map<string, Entry<LifeguardRedisPool<RedisClient>>>();
  #closing: Promise<CloseResult> | undefined;

  /**
   * The PostgreSQL pool named `name`, created on first use. The same name with
   * different options is a `ConfigError`.
   */
  pg(name: string, options: Omit<PgPoolOptions, 'name'> & { name?: string } = {}): LifeguardPgPool {
    return getOrCreate(this.#pg, 'pg', name, options, (p) => p.ending, () => new LifeguardPgPool({ ...options, name }));
  }

  /**
   * The Redis pool named `name`, created on first use. The same name with different
   * options is a `ConfigError`.
   */
  redis(name: string, options: Omit<RedisPoolOptions, 'name' | 'cluster'> & { name?: string; cluster: RedisClusterOptions }): LifeguardRedisPool<Cluster>;
  redis(name: string, options?: Omit<RedisPoolOptions, 'name'> & { name?: string }): LifeguardRedisPool;
  redis(name: string, options: Omit<RedisPoolOptions, 'name'> & { name?: string } = {}): LifeguardRedisPool | LifeguardRedisPool<Cluster> {
    return getOrCreate(this.#redis, 'redis', name, options, (p) => p.closing, () => new LifeguardRedisPool<RedisClient>({ ...options, name })) as LifeguardRedisPool;
  }

  /**
   * Pools named `"default"` from `REDIS_URL`, `REDIS_MAX_CONNECTIONS` (default 50),
   * `REDIS_SOCKET_TIMEOUT` (s, default 30), `DATABASE_URL` / `PG*`,
   * `PG_MAX_CONNECTIONS`, `LIFEGUARD_LEAK_THRESHOLD_MS`. A bad value is a
   * `ConfigError` naming the variable.
   */
  fromEnv(env: NodeJS.ProcessEnv = process.env): EnvPools {
    const r = redisOptionsFromEnv(env);
    const p = pgOptionsFromEnv(env);
    return {
      redis: r === undefined ? undefined : this.redis('default', r),
      pg: p === undefined ? undefined : this.pg('default', p),
    };
  }

  /** Runs `fn` with every lease taken inside it attributed to `tag` (AsyncLocalStorage). */
  runWithTag<T>(tag: string, fn: () => T): T {
    return runWithTag(tag, fn);
  }

  /** Listens to the events of every pool in the process. Another event name, or a listener that is not a function, is a `ConfigError`. */
  on(event: 'event', listener: EventListener): this {
    if (event !== 'event') throw new ConfigError(`lifeguard: the manager emits only 'event', not ${show(event)}`, { option: 'event' });
    if (typeof listener !== 'function') throw new ConfigError(`lifeguard: the manager's on('event', listener) needs a function, got ${show(listener)}`, { option: 'listener' });
    registry.hub.add(listener);
    return this;
  }

  /** Stops listening. */
  off(event: 'event', listener: EventListener): this {
    if (event === 'event') registry.hub.remove(listener);
    return this;
  }

  /** Outstanding leases of every open pool, oldest first. */
  leases(): LeaseInfo[] {
    return [...registry.pools].flatMap((p) => p.leases()).sort((a, b) => b.ageMs - a.ageMs);
  }

  /**
   * Closes every pool the manager created: drains for up to `timeoutMs` (default
   * 10 s), then forces what is left. Resolves with what was forced.
   */
  close(opts?: { timeoutMs?: number }): Promise<CloseResult> {
    // a second call while the first drains shares it (and resolves when everything is closed)
    return (this.#closing ??= (async () => {
      try {
        const pools: { close(o?: { timeoutMs?: number }): Promise<CloseResult> }[] = [
          ...[...this.#pg.values()].map((e) => e.pool),
          ...[...this.#redis.values()].map((e) => e.pool),
        ];
        this.#pg.clear();
        this.#redis.clear();
        const results = await Promise.all(pools.map((p) => p.close(opts)));
        return { forced: results.flatMap((r) => r.forced) };
      } finally {
        this.#closing = undefined;
      }
    })());
  }
}

/** The open pool registered under `name` (same options), or a new one. */
function getOrCreate<P>(
  pools: Map<string, Entry<P>>,
  driver: string,
  name: string,
  options: { name?: string },
  closing: (pool: P) => boolean,
  create: () => P,
): P {
  checkName(name, options);
  const existing = pools.get(name);
  if (existing !== undefined && !closing(existing.pool)) {
    if (!sameOptions(existing.options, options)) {
      throw new ConfigError(
        `lifeguard: ${driver} pool "${name}" already exists with different options; use one set of options per name, or another name`,
        { pool: name },
      );
    }
    return existing.pool;
  }
  const pool = create();
  const entry = { pool, options };
  pools.set(name, entry);
  // a pool closed directly (pool.close(), pool.end()) leaves the map
  onPoolClosed(pool as object, () => {
    if (pools.get(name) === entry) pools.delete(name);
  });
  return pool;
}

function checkName(name: unknown, options: { name?: string }): void {
  if (typeof name !== 'string' || name === '' || name.length > MAX_NAME_LENGTH || hasUnsafeChars(name)) {
    throw new ConfigError(
      `lifeguard: a pool name must be a non-empty string of at most ${MAX_NAME_LENGTH} characters without control, line-separator or bidi characters, got ${show(name)}`,
      { option: 'name' },
    );
  }
  if (options.name !== undefined && options.name !== name) {
    throw new ConfigError(`lifeguard: pool "${name}": options.name ${show(options.name)} contradicts the name argument`, {
      pool: name,
      option: 'name',
    });
  }
}

/** Structural equality of option objects (RegExps by source and flags; functions and class instances by identity). */
export function sameOptions(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (a instanceof RegExp || b instanceof RegExp) return a instanceof RegExp && b instanceof RegExp && a.source === b.source && a.flags === b.flags;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const protoA = Object.getPrototypeOf(a);
  if (protoA !== Object.getPrototypeOf(b) || (protoA !== Object.prototype && protoA !== Array.prototype && protoA !== null)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => sameOptions((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const KEY = Symbol.for('lifeguard.manager');

/** The one pool manager of this process (shared by every copy of lifeguard loaded). */
export function getPoolManager(): PoolManager {
  const g = globalThis as { [KEY]?: PoolManager };
  return (g[KEY] ??= new PoolManager());
}

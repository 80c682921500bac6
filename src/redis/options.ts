/** Redis pool options: lifeguard's common options plus `url` and `redisOptions`. */
import type { RedisOptions } from 'ioredis';
import { ConfigError } from '../core/errors.js';
import { COMMON_KEYS, type CommonPoolOptions, MAX_DURATION_MS, type OptionChecker, type ResolvedCommonOptions, resolveCommonOptions, splitOptions } from '../core/options.js';
import { redactUrl, secretForms, urlPassword } from '../core/redact.js';
import { type RedisClusterOptions, type ResolvedCluster, resolveCluster } from './cluster.js';
import { type RedisSentinelOptions, type ResolvedSentinel, resolveSentinel } from './sentinel.js';

/** The largest database number a Redis pool takes (Redis's own limit; the server's `databases` is usually 16). */
export const MAX_REDIS_DB = 2_147_483_647;

/** Checks the ioredis options lifeguard depends on: types and ranges, never the password's value. */
function checkRedisOptions(c: OptionChecker, o: Record<string, unknown>): void {
  if (o.db !== undefined) c.int('redisOptions.db', o.db, 0, MAX_REDIS_DB);
  if (o.port !== undefined) c.int('redisOptions.port', o.port, 1, 65_535);
  for (const k of ['host', 'username', 'path', 'keyPrefix', 'connectionName'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') c.fail(`redisOptions.${k}`, 'a string', o[k]);
  }
  if (o.password !== undefined && o.password !== null && typeof o.password !== 'string') {
    c.fail('redisOptions.password', 'a string', typeof o.password);
  }
  for (const k of ['commandTimeout', 'connectTimeout', 'socketTimeout', 'keepAlive'] as const) {
    if (o[k] !== undefined) c.int(`redisOptions.${k}`, o[k], 0, MAX_DURATION_MS);
  }
  if (o.tls !== undefined && (typeof o.tls !== 'object' || o.tls === null || Array.isArray(o.tls))) c.fail('redisOptions.tls', 'an object (tls.connect options)', o.tls);
}

/** Options of `createRedisPool()` / `lg.redis()`. */
export interface RedisPoolOptions extends CommonPoolOptions {
  /**
   * `redis://[user:password@]host:port[/db]` (or `rediss://`).
   * @default 'redis://127.0.0.1:6379'
   */
  url?: string;
  /**
   * Any ioredis option, passed to every connection. lifeguard sets `connectionName`,
   * `connectTimeout` (from `connectTimeoutMs`) and, for pooled connections,
   * `retryStrategy` (a broken pooled connection is replaced, not retried).
   * @default {}
   */
  redisOptions?: RedisOptions;
  /**
   * Publish this pool's budget (`max`) in the hash `lifeguard:budgets` (field
   * `<app>:<pool>:<pid>`, refreshed every 30 s, expiring after 120 s), so that
   * `lifeguard doctor` can add up the running processes' budgets against `maxclients`.
   * One `HSET` + `EXPIRE` per 30 s on the shared client; `false` writes nothing.
   * @default true
   */
  publishBudget?: boolean;
  // ---- issue 17 ----
  /**
   * Redis Cluster: seed `nodes` and any ioredis `ClusterOptions`. Every connection of
   * the pool (shared, pooled, subscriber, dedicated) is then an ioredis `Cluster`, at
   * most one connection per node each, so `max` bounds the pool's connections to
   * every node. Not with `url` or `sentinel`.
   * @default undefined (a single server at `url`)
   */
  cluster?: RedisClusterOptions;
  /**
   * Redis Sentinel: `{ sentinels, name }` (the master's name). Every connection asks
   * the sentinels for the master; a failover is a reconnect and a `failover` event.
   * Not with `cluster`.
   * @default undefined
   */
  sentinel?: RedisSentinelOptions;
  /**
   * ioredis options for the connections `client.duplicate()` opens for other
   * libraries (BullMQ, …), over the pool's `redisOptions`. BullMQ's Workers need
   * `maxRetriesPerRequest: null` on their blocking connections; it is set here, not on
   * the shared client, whose commands keep failing fast while Redis is down.
   * @default { maxRetriesPerRequest: null }
   */
  duplicateOptions?: RedisOptions;
}

export interface ResolvedRedisOptions {
  readonly common: ResolvedCommonOptions;
  readonly url: string;
  readonly redisOptions: Readonly<RedisOptions>;
  /** The database connections must be on (from the URL path or `redisOptions.db`). */
  readonly db: number;
  readonly secrets: readonly string[];
  /** Where the pool connects, password masked. */
  readonly target: string;
  readonly publishBudget: boolean;
  /** issue 17: set for a cluster pool. */
  readonly cluster: ResolvedCluster | undefined;
  /** issue 17: set for a Sentinel-managed master. */
  readonly sentinel: ResolvedSentinel | undefined;
  /** issue 17: options of `client.duplicate()` connections. */
  readonly duplicateOptions: Readonly<RedisOptions>;
}

type RedisOwnKey = Exclude<keyof RedisPoolOptions, keyof CommonPoolOptions>;

/** A Redis pool's own options and their defaults (documented on {@link RedisPoolOptions}); the accepted keys derive from them. */
const REDIS_DEFAULTS = Object.freeze({
  url: 'redis://127.0.0.1:6379',
  redisOptions: {} as RedisOptions,
  publishBudget: true,
  cluster: undefined,
  sentinel: undefined,
  duplicateOptions: { maxRetriesPerRequest: null } as RedisOptions,
} satisfies { readonly [K in RedisOwnKey]: RedisPoolOptions[K] | undefined });

const REDIS_ALLOWED: ReadonlySet<string> = new Set([...COMMON_KEYS, ...Object.keys(REDIS_DEFAULTS)]);

export function resolveRedisOptions(input: RedisPoolOptions, env: NodeJS.ProcessEnv = process.env): ResolvedRedisOptions {
  const { raw, c, common } = splitOptions(input, 'redis', REDIS_ALLOWED, 'not a lifeguard option; ioredis options go in redisOptions');
  const resolved = resolveCommonOptions(common, env);
  if (resolved.max < 2) c.fail('max', 'an integer >= 2 for a Redis pool (the shared client holds one permit of the budget)', resolved.max);
  if (resolved.min > resolved.max - 1) {
    c.fail('min', `<= max - 1 (${resolved.max - 1}) for a Redis pool (the shared client holds one permit of the budget)`, resolved.min);
  }

  const url = raw.url === undefined ? REDIS_DEFAULTS.url : raw.url;
  if (typeof url !== 'string' || url === '') c.fail('url', 'a non-empty string', typeof url === 'string' ? '' : typeof url);
  let parsed: URL;
  try {
    parsed = new URL(url as string);
  } catch {
    throw new ConfigError(
      `lifeguard: pool "${resolved.name}": option url is not a valid URL (percent-encode a password's special characters): ${redactUrl(url as string)}`,
      { pool: resolved.name, option: 'url' },
    );
  }
  if (parsed.hostname === '') {
    throw new ConfigError(`lifeguard: pool "${resolved.name}": option url must name a host, got ${redactUrl(url as string)}`, {
      pool: resolved.name,
      option: 'url',
    });
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(`lifeguard: pool "${resolved.name}": option url must start with redis:// or rediss://, got ${redactUrl(url as string)}`, {
      pool: resolved.name,
      option: 'url',
    });
  }
  const redisOptions = raw.redisOptions === undefined ? { ...REDIS_DEFAULTS.redisOptions } : (c.object('redisOptions', raw.redisOptions) as RedisOptions);
  checkRedisOptions(c, redisOptions as Record<string, unknown>);
  const secrets: string[] = [];
  if (parsed.password) secrets.push(...secretForms(parsed.password));
  const rawPw = urlPassword(url as string);
  if (rawPw !== undefined) secrets.push(...secretForms(rawPw));
  if (typeof redisOptions.password === 'string' && redisOptions.password) secrets.push(...secretForms(redisOptions.password));
  const path = parsed.pathname.length > 1 ? parsed.pathname.slice(1) : undefined;
  const pathDb = path === undefined ? undefined : /^[0-9]{1,10}$/.test(path) ? Number(path) : NaN;
  if (pathDb !== undefined && !(pathDb >= 0 && pathDb <= MAX_REDIS_DB)) {
    c.fail('url', `a URL whose path is a database number from 0 to ${MAX_REDIS_DB}`, redactUrl(url as string));
  }
  const db = redisOptions.db ?? pathDb ?? 0;
  if (raw.publishBudget !== undefined && typeof raw.publishBudget !== 'boolean') c.fail('publishBudget', 'a boolean', typeof raw.publishBudget);
  // issue 17: cluster, sentinel, duplicate()
  if (raw.cluster !== undefined && raw.sentinel !== undefined) c.fail('sentinel', 'absent when cluster is given (a cluster fails over by itself)', 'both');
  if (raw.cluster !== undefined && raw.url !== undefined) c.fail('url', 'absent when cluster is given (cluster.nodes says where)', redactUrl(String(raw.url)));
  const cluster = raw.cluster === undefined ? undefined : resolveCluster(c, raw.cluster);
  const sentinel = raw.sentinel === undefined ? undefined : resolveSentinel(c, raw.sentinel);
  if (sentinel?.redisOptions.sentinelPassword) secrets.push(sentinel.redisOptions.sentinelPassword);
  const duplicateOptions = raw.duplicateOptions === undefined ? REDIS_DEFAULTS.duplicateOptions : (c.object('duplicateOptions', raw.duplicateOptions) as RedisOptions);
  return Object.freeze({
    common: resolved,
    url: url as string,
    redisOptions: Object.freeze({ ...redisOptions, ...sentinel?.redisOptions }),
    db,
    secrets: Object.freeze(secrets.filter((s) => s.length > 0)),
    target: cluster?.target ?? sentinel?.target ?? redactUrl(url as string),
    publishBudget: raw.publishBudget === undefined ? REDIS_DEFAULTS.publishBudget : raw.publishBudget === true,
    cluster,
    sentinel,
    duplicateOptions: Object.freeze({ ...duplicateOptions }),
  });
}

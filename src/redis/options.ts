/** Redis pool options: lifeguard's common options plus `url` and `redisOptions`. */
import type { RedisOptions } from 'ioredis';
import { ConfigError } from '../core/errors.js';
import { COMMON_KEYS, type CommonPoolOptions, type ResolvedCommonOptions, resolveCommonOptions, splitOptions } from '../core/options.js';
import { redactUrl } from '../core/redact.js';

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
}

const REDIS_ALLOWED: ReadonlySet<string> = new Set([...COMMON_KEYS, 'url', 'redisOptions', 'publishBudget']);

export function resolveRedisOptions(input: RedisPoolOptions, env: NodeJS.ProcessEnv = process.env): ResolvedRedisOptions {
  const { raw, c, common } = splitOptions(input, 'redis', REDIS_ALLOWED, 'not a lifeguard option; ioredis options go in redisOptions');
  const resolved = resolveCommonOptions(common, env);
  if (resolved.max < 2) c.fail('max', 'an integer >= 2 for a Redis pool (the shared client holds one permit of the budget)', resolved.max);

  const url = raw.url === undefined ? 'redis://127.0.0.1:6379' : raw.url;
  if (typeof url !== 'string' || url === '') c.fail('url', 'a non-empty string', typeof url === 'string' ? '' : typeof url);
  let parsed: URL;
  try {
    parsed = new URL(url as string);
  } catch {
    throw new ConfigError(`lifeguard: pool "${resolved.name}": option url is not a valid URL: ${redactUrl(url as string)}`, {
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
  const redisOptions = raw.redisOptions === undefined ? {} : (c.object('redisOptions', raw.redisOptions) as RedisOptions);
  const secrets: string[] = [];
  if (parsed.password) secrets.push(parsed.password, decodeURIComponent(parsed.password));
  if (typeof redisOptions.password === 'string' && redisOptions.password) secrets.push(redisOptions.password);
  const pathDb = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : undefined;
  if (pathDb !== undefined && (!Number.isInteger(pathDb) || pathDb < 0)) c.fail('url', 'a URL whose path is a database number', redactUrl(url as string));
  const db = redisOptions.db ?? pathDb ?? 0;
  if (raw.publishBudget !== undefined && typeof raw.publishBudget !== 'boolean') c.fail('publishBudget', 'a boolean', typeof raw.publishBudget);
  return Object.freeze({
    common: resolved,
    url: url as string,
    redisOptions: Object.freeze({ ...redisOptions }),
    db,
    secrets: Object.freeze(secrets.filter((s) => s.length > 0)),
    target: redactUrl(url as string),
    publishBudget: raw.publishBudget !== false,
  });
}

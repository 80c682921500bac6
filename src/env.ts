/**
 * Pool options from the environment. Each variable maps to one option, so a bad
 * value is a `ConfigError` naming the variable, not the option.
 */
import { ConfigError } from './core/errors.js';
import { MAX_CONNECTIONS, MAX_DURATION_MS, show } from './core/options.js';
import { leakThresholdFromEnv } from './core/option-env.js';
import { redactUrl } from './core/redact.js';
import { connectionStringProblem, type PgPoolOptions } from './pg/options.js';
import type { RedisPoolOptions } from './redis/options.js';

/** The longest duration in whole seconds (REDIS_SOCKET_TIMEOUT, REDIS_HEALTH_CHECK_INTERVAL). */
const MAX_SECONDS = Math.floor(MAX_DURATION_MS / 1000);

/** A decimal integer from `min` to `max`: digits only (no sign, space, `0x`, `1e3` or `.`). */
function int(env: NodeJS.ProcessEnv, name: string, min: number, max: number, unit: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = /^[0-9]{1,16}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) {
    throw new ConfigError(`lifeguard: environment variable ${name} must be an integer from ${min} to ${max} (${unit}), got ${show(raw)}`, {
      envVar: name,
    });
  }
  return n;
}

function leakThreshold(env: NodeJS.ProcessEnv): { thresholdMs: number } | undefined {
  const ms = leakThresholdFromEnv(env);
  return ms === undefined ? undefined : { thresholdMs: ms };
}

function badUrl(name: string, problem: string, url: string): ConfigError {
  return new ConfigError(`lifeguard: environment variable ${name} ${problem}, got ${show(redactUrl(url))}`, { envVar: name });
}

function checkRedisUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw badUrl('REDIS_URL', "must be a redis:// or rediss:// URL (percent-encode a password's special characters)", url);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw badUrl('REDIS_URL', 'must be a redis:// or rediss:// URL', url);
  if (parsed.hostname === '') throw badUrl('REDIS_URL', 'must name a host', url);
}

/**
 * Redis options from `REDIS_URL`, `REDIS_MAX_CONNECTIONS` (default 50),
 * `REDIS_HEALTH_CHECK_INTERVAL` (seconds, default 30: PING on the shared client),
 * `REDIS_SOCKET_TIMEOUT` (seconds, default 30: connect timeout and ioredis
 * `commandTimeout`), `LIFEGUARD_LEAK_THRESHOLD_MS`. Undefined without `REDIS_URL`.
 */
export function redisOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RedisPoolOptions | undefined {
  const url = env.REDIS_URL;
  if (url === undefined || url === '') return undefined;
  checkRedisUrl(url);
  // at least 2: the shared client holds one permit of a Redis pool's budget
  const max = int(env, 'REDIS_MAX_CONNECTIONS', 2, MAX_CONNECTIONS, 'connections') ?? 50;
  const socketTimeoutS = int(env, 'REDIS_SOCKET_TIMEOUT', 1, MAX_SECONDS, 'seconds') ?? 30;
  const healthS = int(env, 'REDIS_HEALTH_CHECK_INTERVAL', 1, MAX_SECONDS, 'seconds') ?? 30;
  const leak = leakThreshold(env);
  return {
    url,
    max,
    healthCheck: { intervalMs: healthS * 1000 },
    connectTimeoutMs: socketTimeoutS * 1000,
    redisOptions: { commandTimeout: socketTimeoutS * 1000 },
    ...(leak ? { leakDetection: leak } : {}),
  };
}

/**
 * PostgreSQL options from `DATABASE_URL` (else the standard `PG*` variables, which
 * pg reads itself), `PG_MAX_CONNECTIONS`, `LIFEGUARD_LEAK_THRESHOLD_MS`. Undefined
 * when neither `DATABASE_URL` nor `PGHOST`/`PGDATABASE` is set.
 */
export function pgOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): PgPoolOptions | undefined {
  const url = env.DATABASE_URL;
  const hasPg = env.PGHOST !== undefined || env.PGDATABASE !== undefined;
  if ((url === undefined || url === '') && !hasPg) return undefined;
  if (url) {
    const problem = connectionStringProblem(url);
    if (problem !== undefined) throw badUrl('DATABASE_URL', problem, url);
  }
  const max = int(env, 'PG_MAX_CONNECTIONS', 1, MAX_CONNECTIONS, 'connections');
  int(env, 'PGPORT', 1, 65_535, 'port');
  const leak = leakThreshold(env);
  return {
    ...(url ? { connectionString: url } : {}),
    ...(max !== undefined ? { max } : {}),
    ...(leak ? { leakDetection: leak } : {}),
  };
}

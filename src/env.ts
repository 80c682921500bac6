/**
 * Pool options from the environment. Each variable maps to one option, so a bad
 * value is a `ConfigError` naming the variable, not the option.
 */
import { ConfigError } from './core/errors.js';
import type { PgPoolOptions } from './pg/options.js';
import type { RedisPoolOptions } from './redis/options.js';

function int(env: NodeJS.ProcessEnv, name: string, min: number, unit: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) {
    throw new ConfigError(`lifeguard: environment variable ${name} must be an integer >= ${min} (${unit}), got ${JSON.stringify(raw)}`, {
      envVar: name,
    });
  }
  return n;
}

function leakThreshold(env: NodeJS.ProcessEnv): { thresholdMs: number } | undefined {
  const ms = int(env, 'LIFEGUARD_LEAK_THRESHOLD_MS', 1, 'milliseconds');
  return ms === undefined ? undefined : { thresholdMs: ms };
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
  const max = int(env, 'REDIS_MAX_CONNECTIONS', 1, 'connections') ?? 50;
  const socketTimeoutS = int(env, 'REDIS_SOCKET_TIMEOUT', 1, 'seconds') ?? 30;
  const healthS = int(env, 'REDIS_HEALTH_CHECK_INTERVAL', 1, 'seconds') ?? 30;
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
  const max = int(env, 'PG_MAX_CONNECTIONS', 1, 'connections');
  int(env, 'PGPORT', 1, 'port');
  const leak = leakThreshold(env);
  return {
    ...(url ? { connectionString: url } : {}),
    ...(max !== undefined ? { max } : {}),
    ...(leak ? { leakDetection: leak } : {}),
  };
}

/**
 * The servers' view: how many connections carry a given name, so tests can prove
 * the pool's accounting equals what the server sees. Short-lived clients, closed
 * in finally, never counted themselves.
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { DATABASE_URL, REDIS_URL } from './env.js';

async function withPg<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: DATABASE_URL, application_name: 'lifeguard-test-probe' });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Backends whose `application_name` starts with `prefix`. */
export function pgConnectionCount(prefix: string): Promise<number> {
  return withPg(async (c) => {
    const { rows } = await c.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity where starts_with(application_name, $1) and pid <> pg_backend_pid()`,
      [prefix],
    );
    return rows[0]!.n;
  });
}

/** Terminates the backends whose `application_name` starts with `prefix`; returns how many. */
export function pgTerminate(prefix: string): Promise<number> {
  return withPg(async (c) => {
    const { rows } = await c.query<{ n: number }>(
      `select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity
         where starts_with(application_name, $1) and pid <> pg_backend_pid()) t`,
      [prefix],
    );
    return rows[0]!.n;
  });
}

async function withRedis<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  r.on('error', () => undefined);
  await r.connect();
  try {
    return await fn(r);
  } finally {
    await r.quit().catch(() => r.disconnect());
  }
}

/** Parsed `CLIENT LIST` rows. */
export function parseClientList(text: string): Record<string, string>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => Object.fromEntries(l.trim().split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])));
}

/** Connections whose `CLIENT SETNAME` starts with `prefix`. */
export function redisConnectionCount(prefix: string, url = REDIS_URL): Promise<number> {
  return withRedis(url, async (r) => parseClientList((await r.client('LIST')) as string).filter((c) => c.name?.startsWith(prefix)).length);
}

/** `CLIENT KILL ID` for each connection named with `prefix`; returns how many. */
export function redisKill(prefix: string, url = REDIS_URL): Promise<number> {
  return withRedis(url, async (r) => {
    const ids = parseClientList((await r.client('LIST')) as string)
      .filter((c) => c.name?.startsWith(prefix))
      .map((c) => c.id!);
    for (const id of ids) await r.client('KILL', 'ID', id);
    return ids.length;
  });
}

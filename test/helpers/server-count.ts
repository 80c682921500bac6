/**
 * The servers' view: how many connections carry a given name, so tests can prove
 * the pool's accounting equals what the server sees. Short-lived clients, closed
 * in finally, never counted themselves.
 *
 * Prefixes are matched literally (`starts_with`, not `LIKE`: the `_` of unique()
 * names would be a wildcard there).
 */
import { Redis } from 'ioredis';
import pg from 'pg';
import { DATABASE_URL, REDIS_URL } from './env.js';

const PROBE_NAME = 'lifeguard-test-probe';

async function withPg<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: DATABASE_URL, application_name: PROBE_NAME, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Backends whose `application_name` starts with `prefix` (the probe's own excluded). */
export function pgConnectionCount(prefix: string): Promise<number> {
  return withPg(async (c) => {
    const { rows } = await c.query<{ n: number }>(
      `select count(*)::int as n from pg_stat_activity
        where starts_with(application_name, $1) and pid <> pg_backend_pid()`,
      [prefix],
    );
    return rows[0]?.n ?? 0;
  });
}

/** `pg_terminate_backend` for each backend whose `application_name` starts with `prefix`; returns how many were terminated. */
export function pgTerminate(prefix: string): Promise<number> {
  if (prefix === '') return Promise.reject(new Error('pgTerminate needs a non-empty prefix'));
  return withPg(async (c) => {
    const { rows } = await c.query<{ n: number }>(
      `select count(*) filter (where t)::int as n from (
         select pg_terminate_backend(pid) as t from pg_stat_activity
          where starts_with(application_name, $1) and pid <> pg_backend_pid()) k`,
      [prefix],
    );
    return rows[0]?.n ?? 0;
  });
}

async function withRedis<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 5000 });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    await r.quit().catch(() => r.disconnect());
  }
}

/** Parsed `CLIENT LIST` rows (`id`, `name`, `addr`, `cmd`, …). */
export function parseClientList(text: string): Record<string, string>[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) =>
      Object.fromEntries(
        l
          .trim()
          .split(' ')
          .map((kv) => {
            const i = kv.indexOf('=');
            return i < 0 ? [kv, ''] : [kv.slice(0, i), kv.slice(i + 1)];
          }),
      ),
    );
}

async function namedClients(r: Redis, prefix: string): Promise<Record<string, string>[]> {
  const list = String(await r.call('CLIENT', 'LIST'));
  return parseClientList(list).filter((c) => c.name !== undefined && c.name !== '' && c.name.startsWith(prefix));
}

/** Connections whose `CLIENT SETNAME` starts with `prefix`. */
export function redisConnectionCount(prefix: string, url = REDIS_URL): Promise<number> {
  return withRedis(url, async (r) => (await namedClients(r, prefix)).length);
}

/** `CLIENT KILL ID` for each connection whose name starts with `prefix`; returns how many were killed. */
export function redisKill(prefix: string, url = REDIS_URL): Promise<number> {
  if (prefix === '') return Promise.reject(new Error('redisKill needs a non-empty prefix'));
  return withRedis(url, async (r) => {
    let killed = 0;
    for (const c of await namedClients(r, prefix)) {
      if (c.id === undefined) continue;
      // it may have gone on its own meanwhile: "No such client"
      const n = await r.call('CLIENT', 'KILL', 'ID', c.id).catch(() => 0);
      if (n === 1) killed++;
    }
    return killed;
  });
}

import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASE_URL, REDIS_URL } from '../../helpers/env.js';
import { waitFor } from '../../helpers/events.js';
import { parseClientList, pgConnectionCount, pgTerminate, redisConnectionCount, redisKill } from '../../helpers/server-count.js';
import { unique } from '../../helpers/unique.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function pgClient(name: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: DATABASE_URL, application_name: name });
  c.on('error', () => undefined);
  cleanups.push(() => c.end().catch(() => undefined));
  await c.connect();
  return c;
}

async function redisClient(name: string): Promise<Redis> {
  const r = new Redis(REDIS_URL, { connectionName: name, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  r.on('error', () => undefined);
  cleanups.push(() => r.disconnect());
  await r.connect();
  return r;
}

describe('server counts', () => {
  it('counts and terminates pg backends by application_name prefix', async () => {
    const prefix = unique('sc');
    expect(await pgConnectionCount(prefix)).toBe(0);
    const a = await pgClient(`${prefix}:a`);
    await pgClient(`${prefix}:b`);
    await pgClient(`${unique('other')}:a`);
    expect(await pgConnectionCount(prefix)).toBe(2);
    expect(await pgConnectionCount(`${prefix}:a`)).toBe(1);
    // literal prefix: `_` is no wildcard
    expect(await pgConnectionCount(prefix.replace(/_/g, '%'))).toBe(0);

    const ended = new Promise<void>((resolve) => a.once('end', () => resolve()));
    expect(await pgTerminate(prefix)).toBe(2);
    await ended;
    await waitFor(async () => (await pgConnectionCount(prefix)) === 0, { message: 'terminated backends still listed' });
    await expect(pgTerminate('')).rejects.toThrow(/non-empty/);
  });

  it('counts and kills Redis connections by name prefix', async () => {
    const prefix = unique('sc');
    expect(await redisConnectionCount(prefix)).toBe(0);
    const a = await redisClient(`${prefix}:a`);
    await redisClient(`${prefix}:b`);
    await redisClient(`${unique('other')}:a`);
    expect(await redisConnectionCount(prefix)).toBe(2);
    expect(await redisConnectionCount(`${prefix}:b`)).toBe(1);

    const closed = new Promise<void>((resolve) => a.once('close', () => resolve()));
    expect(await redisKill(prefix)).toBe(2);
    await closed;
    expect(await redisConnectionCount(prefix)).toBe(0);
    expect(await redisKill(prefix)).toBe(0);
    await expect(redisKill('')).rejects.toThrow(/non-empty/);
  });

  it('parses CLIENT LIST', () => {
    const rows = parseClientList('id=3 addr=127.0.0.1:5 name= cmd=client|list\nid=4 addr=127.0.0.1:6 name=x:y flags=N\n');
    expect(rows).toEqual([
      { id: '3', addr: '127.0.0.1:5', name: '', cmd: 'client|list' },
      { id: '4', addr: '127.0.0.1:6', name: 'x:y', flags: 'N' },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { LeaseReleasedError } from '../../../src/index.js';
import { waitFor } from '../../helpers/events.js';
import { testPgPool, testRedisPool } from '../../helpers/pools.js';
import { pgConnectionCount, pgTerminate, redisKill } from '../../helpers/server-count.js';

describe('a leased connection killed on the server', () => {
  it('pg_terminate_backend of 4 leased connections on max 4: a new acquire succeeds within 1 s, without GC; the dead leases say so', async () => {
    const { pool, prefix } = testPgPool({ max: 4, healthCheck: false });
    const leases = await Promise.all(Array.from({ length: 4 }, () => pool.acquire()));
    for (const l of leases) await l.client.query('select 1');
    expect(pool.stats().active).toBe(4);
    expect(await pgTerminate(prefix)).toBe(4);
    const t0 = performance.now();
    const fresh = await pool.acquire({ timeoutMs: 1000 });
    const ms = performance.now() - t0;
    console.log(`dead leases: acquire after terminating 4 leased backends took ${ms.toFixed(0)} ms`);
    expect(ms).toBeLessThan(1000);
    expect((await fresh.client.query('select 1 as one')).rows[0].one).toBe(1);
    await waitFor(() => pool.stats().active === 1, { message: 'every dead lease was taken back' });
    // a dead lease: use says why, release() is a no-op
    const dead = leases[0]!;
    expect(dead.released).toBe(true);
    let err: unknown;
    try {
      await dead.client.query('select 1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LeaseReleasedError);
    expect((err as Error).message).toMatch(/whose connection died \(.*terminat.*\); the pool closed it and freed its permit/);
    for (const l of leases) expect(() => l.release()).not.toThrow();
    fresh.release();
    expect(pool.stats().circuit).toBe('closed');
    await waitFor(async () => (await pgConnectionCount(prefix)) === pool.stats().total);
  });

  it('CLIENT KILL of a leased Redis connection frees its permit at once', async () => {
    const { pool, prefix } = testRedisPool({ max: 2, healthCheck: false });
    const lease = await pool.acquire();
    await lease.client.ping();
    await pool.client.ping();
    await redisKill(`${prefix}`); // the shared client too; it reconnects on its own
    const fresh = await pool.acquire({ timeoutMs: 2000 });
    expect(await fresh.client.ping()).toBe('PONG');
    expect(() => lease.release()).not.toThrow();
    fresh.release();
    await waitFor(() => pool.client.status === 'ready', { message: 'the shared client reconnected' });
  });
});

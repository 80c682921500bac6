import { describe, expect, it } from 'vitest';
import { PoolClosedError } from '../../../src/index.js';
import { nextEvent, waitFor } from '../../helpers/events.js';
import { pgConnectionCount } from '../../helpers/server-count.js';
import { testPgPool } from '../../helpers/pools.js';

describe('close({ timeoutMs })', () => {
  it('with a lease still out, returns after about timeoutMs, reports that lease, and closes every connection', async () => {
    const { pool, prefix } = testPgPool({ max: 3 });
    await Promise.all([pool.query('select 1'), pool.query('select 1'), pool.query('select 1')]);
    const lease = await pool.acquire({ tag: 'stuck job' });
    // a backend shows in pg_stat_activity a moment after its client connected
    await waitFor(async () => (await pgConnectionCount(prefix)) === pool.stats().total);

    const leak = nextEvent(pool, 'leak', (e) => e.kind === 'unreleased-at-close');
    const started = performance.now();
    const result = await pool.close({ timeoutMs: 300 });
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1500);
    expect(result.forced).toHaveLength(1);
    expect(result.forced[0]!.id).toBe(lease.id);
    expect(result.forced[0]!.tag).toBe('stuck job');
    expect(result.forced[0]!.site).toMatch(/close\.test\.ts:\d+/);
    expect((await leak).lease.id).toBe(lease.id);
    expect(await pgConnectionCount(prefix)).toBe(0);
    expect(() => lease.client).toThrow(/released/);
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolClosedError);
    await expect(pool.query('select 1')).rejects.toMatchObject({ code: 'POOL_CLOSED' });
  });

  it('returns as soon as the last lease comes back', async () => {
    const { pool, prefix } = testPgPool({ max: 2 });
    const lease = await pool.acquire();
    const closing = pool.close({ timeoutMs: 10_000 });
    const started = performance.now();
    setTimeout(() => lease.release(), 50);
    const result = await closing;
    expect(performance.now() - started).toBeLessThan(2000);
    expect(result.forced).toEqual([]);
    expect(await pgConnectionCount(prefix)).toBe(0);
  });

  it('rejects queued waiters with POOL_CLOSED', async () => {
    const { pool } = testPgPool({ max: 1 });
    const lease = await pool.acquire();
    const waiting = pool.acquire({ timeoutMs: 60_000 });
    const closing = pool.close({ timeoutMs: 1000 });
    await expect(waiting).rejects.toMatchObject({ code: 'POOL_CLOSED' });
    lease.release();
    await closing;
  });
});

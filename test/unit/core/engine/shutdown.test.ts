import { describe, expect, it } from 'vitest';
import { PoolClosedError } from '../../../../src/core/errors.js';
import { makePool, ofType } from '../../../helpers/core-pool.js';

describe('Shutdown', () => {
  it('rejects waiters and new acquires with POOL_CLOSED, waits for leases, closes everything', async () => {
    const { pool, driver } = makePool({ max: 1 });
    const held = await pool.acquire(undefined, undefined, true);
    const waiting = pool.acquire({ timeoutMs: 5000 }, undefined, true);
    const closed = pool.close({ timeoutMs: 5000 });
    await expect(waiting).rejects.toBeInstanceOf(PoolClosedError);
    await expect(pool.acquire(undefined, undefined, true)).rejects.toBeInstanceOf(PoolClosedError);
    held.release();
    expect((await closed).forced).toEqual([]);
    expect(driver.open).toBe(0);
  });

  it('with serveWaiters, callers already queued are still served', async () => {
    const { pool } = makePool({ max: 1 });
    const held = await pool.acquire(undefined, undefined, true);
    const waiting = pool.acquire({ timeoutMs: 5000 }, undefined, true);
    const closed = pool.close({ timeoutMs: Infinity, serveWaiters: true });
    held.release();
    const lease = await waiting;
    lease.release();
    expect((await closed).forced).toEqual([]);
  });

  it('forces leases still out at the deadline and reports each as unreleased-at-close', async () => {
    const { pool, events } = makePool({ max: 2 });
    const a = await pool.acquire({ tag: 'stuck' }, undefined, true);
    const { forced } = await pool.close({ timeoutMs: 20 });
    expect(forced.map((f) => f.id)).toEqual([a.id]);
    expect(ofType(events, 'leak')[0]).toMatchObject({ kind: 'unreleased-at-close', lease: { id: a.id, tag: 'stuck' } });
    expect(() => a.client).toThrow(/pool close \(forced\)/);
  });

  it('a second close() with a shorter timeout bounds the first; both get one result', async () => {
    const { pool } = makePool({ max: 1 });
    const a = await pool.acquire(undefined, undefined, true);
    const first = pool.close({ timeoutMs: Infinity });
    const second = pool.close({ timeoutMs: 10 });
    expect(second).toBe(first);
    expect((await first).forced.map((f) => f.id)).toEqual([a.id]);
  });

  it('refuses a bad timeoutMs without starting to close', async () => {
    const { pool } = makePool({ max: 1 });
    await expect(pool.close({ timeoutMs: -1 })).rejects.toMatchObject({ code: 'CONFIG_INVALID', option: 'timeoutMs' });
    expect(pool.closing).toBe(false);
    (await pool.acquire(undefined, undefined, true)).release();
    await pool.close();
  });
});

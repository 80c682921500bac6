import { describe, expect, it } from 'vitest';
import { AcquireTimeoutError, QueueFullError } from '../../../../src/core/errors.js';
import { makePool, ofType } from '../../../helpers/core-pool.js';

describe('AcquireQueue', () => {
  it('serves waiters oldest first', async () => {
    const { pool } = makePool({ max: 1 });
    const held = await pool.acquire(undefined, undefined, true);
    const order: string[] = [];
    const waits = ['a', 'b', 'c'].map((tag) =>
      pool.acquire({ tag, timeoutMs: 5000 }, undefined, true).then((l) => {
        order.push(tag);
        l.release();
      }),
    );
    held.release();
    await Promise.all(waits);
    expect(order).toEqual(['a', 'b', 'c']);
    await pool.close();
  });

  it('an aborted signal rejects every waiter that shares it with its reason, and they leave the queue', async () => {
    const { pool } = makePool({ max: 1 });
    const held = await pool.acquire(undefined, undefined, true);
    const ctrl = new AbortController();
    const a = pool.acquire({ signal: ctrl.signal, timeoutMs: 5000 }, undefined, true);
    const b = pool.acquire({ signal: ctrl.signal, timeoutMs: 5000 }, undefined, true);
    const other = pool.acquire({ timeoutMs: 5000 }, undefined, true);
    expect(pool.stats().pending).toBe(3);
    ctrl.abort(new Error('client went away'));
    await expect(a).rejects.toThrow('client went away');
    await expect(b).rejects.toThrow('client went away');
    expect(pool.stats().pending).toBe(1);
    held.release();
    (await other).release();
    await pool.close();
  });

  it('a waiter is settled once: aborting after it was served changes nothing', async () => {
    const { pool } = makePool({ max: 1 });
    const held = await pool.acquire(undefined, undefined, true);
    const ctrl = new AbortController();
    const waiting = pool.acquire({ signal: ctrl.signal, timeoutMs: 5000 }, undefined, true);
    held.release();
    const lease = await waiting;
    ctrl.abort(new Error('too late'));
    expect(lease.released).toBe(false);
    expect(() => lease.client).not.toThrow();
    lease.release();
    expect(pool.stats().released).toBe(2);
    await pool.close();
  });

  it('times out waiters with ACQUIRE_TIMEOUT naming the counts and the holders, and counts them', async () => {
    const { pool, events } = makePool({ max: 1 });
    const held = await pool.acquire({ tag: 'GET /slow' }, undefined, true);
    const results = await Promise.allSettled([1, 2, 3].map(() => pool.acquire({ timeoutMs: 20 }, undefined, true)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as AcquireTimeoutError;
      expect(err).toBeInstanceOf(AcquireTimeoutError);
      expect(err.reason).toBe('pool-full');
      expect(err.message).toContain('in use 1/1');
      expect(err.message).toContain('"GET /slow"');
    }
    expect(pool.stats().timeouts).toBe(3);
    expect(pool.stats().pending).toBe(0);
    expect(ofType(events, 'acquire-timeout')).toHaveLength(3);
    held.release();
    await pool.close();
  });

  it('refuses at once beyond maxWaiting, without queueing', async () => {
    const { pool } = makePool({ max: 1, maxWaiting: 1 });
    const held = await pool.acquire(undefined, undefined, true);
    const first = pool.acquire({ timeoutMs: 5000 }, undefined, true);
    const err = await pool.acquire({ timeoutMs: 5000 }, undefined, true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).snapshot).toMatchObject({ active: 1, waiting: 1, max: 1 });
    expect(pool.stats().pending).toBe(1);
    held.release();
    (await first).release();
    await pool.close();
  });
});

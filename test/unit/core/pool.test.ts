import { describe, expect, it } from 'vitest';
import { runWithTag } from '../../../src/core/context.js';
import { AcquireTimeoutError, NestedAcquireError } from '../../../src/core/errors.js';
import { FakeDriver } from '../../helpers/fake-driver.js';
import { makePool } from '../../helpers/core-pool.js';

describe('CorePool', () => {
  it('never hands the same connection to two holders, and never opens more than max', async () => {
    const { pool, driver } = makePool({ max: 3 });
    const inUse = new Set<number>();
    let overlaps = 0;
    await Promise.all(
      Array.from({ length: 200 }, async () => {
        const lease = await pool.acquire(undefined, undefined, true);
        const id = lease.client.id;
        if (inUse.has(id)) overlaps++;
        inUse.add(id);
        await Promise.resolve();
        inUse.delete(id);
        lease.release();
      }),
    );
    expect(overlaps).toBe(0);
    expect(driver.opened).toBeLessThanOrEqual(3);
    expect(pool.stats().active).toBe(0);
    await pool.close();
    expect(driver.open).toBe(0);
  });

  it('a failing connect rejects the waiters with that error instead of hanging', async () => {
    const driver = new FakeDriver();
    driver.failWith = new Error('connect ECONNREFUSED 127.0.0.1:1');
    const { pool } = makePool({ max: 2, acquireTimeoutMs: 60_000 }, driver);
    const results = await Promise.allSettled([1, 2, 3].map(() => pool.acquire(undefined, undefined, true)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toContain('ECONNREFUSED');
    expect(pool.stats().pending).toBe(0);
    expect(pool.budget.available).toBe(2);
    await pool.close();
  });

  it('a dirty connection is reset before reuse, or destroyed when the reset fails', async () => {
    const { pool, driver, events } = makePool({ max: 1 });
    let lease = await pool.acquire(undefined, undefined, true);
    lease.client.dirty = 'transaction status T';
    lease.release();
    lease = await pool.acquire(undefined, undefined, true);
    expect(lease.client.dirty).toBeUndefined();
    expect(events.find((e) => e.type === 'release')).toMatchObject({ reset: 'transaction status T' });
    driver.resetWorks = false;
    lease.client.dirty = 'pending command';
    const first = lease.client.id;
    lease.release();
    lease = await pool.acquire(undefined, undefined, true);
    expect(lease.client.id).not.toBe(first);
    expect(events.find((e) => e.type === 'destroy')).toMatchObject({ reason: 'dirty', detail: 'pending command' });
    lease.release();
    await pool.close();
  });

  it('a connection that breaks while idle is destroyed, not handed out', async () => {
    const { pool } = makePool({ max: 1 });
    const lease = await pool.acquire(undefined, undefined, true);
    const conn = lease.client;
    lease.release();
    conn.fail!(new Error('socket hang up'));
    const next = await pool.acquire(undefined, undefined, true);
    expect(next.client).not.toBe(conn);
    expect(pool.stats().destroyed.error).toBe(1);
    next.release();
    await pool.close();
  });

  it('the budget is shared: a permit held outside the pool makes acquires wait for it', async () => {
    const { pool } = makePool({ max: 2 });
    expect(pool.budget.tryTake('subscriber')).toBe(true);
    const a = await pool.acquire(undefined, undefined, true);
    const waiting = pool.acquire({ timeoutMs: 5000 }, undefined, true);
    expect(pool.stats().pending).toBe(1);
    pool.budget.give('subscriber');
    const b = await waiting;
    expect(pool.stats().total).toBe(2);
    a.release();
    b.release();
    await pool.close();
  });

  it('nested acquire in the same async context: event, and NestedAcquireError with "throw"', async () => {
    const { pool, events } = makePool({ max: 1 });
    await runWithTag('GET /nested', async () => {
      const outer = await pool.acquire(undefined, undefined, true);
      const err = await pool.acquire({ timeoutMs: 30 }, undefined, true).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AcquireTimeoutError);
      expect((err as AcquireTimeoutError).nested).toBe(true);
      expect((err as Error).message).toContain('nested-acquire deadlock');
      outer.release();
    });
    expect(events.some((e) => e.type === 'nested-acquire' && e.tag === 'GET /nested')).toBe(true);

    const strict = makePool({ max: 1, onNestedAcquire: 'throw' }).pool;
    await runWithTag('t', async () => {
      const outer = await strict.acquire(undefined, undefined, true);
      await expect(strict.acquire(undefined, undefined, true)).rejects.toBeInstanceOf(NestedAcquireError);
      outer.release();
    });
    await pool.close();
    await strict.close();
  });

  it('emits exhausted once per episode and saturation on crossing', async () => {
    const { pool, events } = makePool({ max: 2 });
    const a = await pool.acquire(undefined, undefined, true);
    const b = await pool.acquire(undefined, undefined, true);
    const w1 = pool.acquire({ timeoutMs: 5000 }, undefined, true);
    const w2 = pool.acquire({ timeoutMs: 5000 }, undefined, true);
    expect(events.filter((e) => e.type === 'exhausted')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'saturation').map((e) => (e as { level: string }).level)).toEqual(['critical']);
    a.release();
    b.release();
    (await w1).release();
    (await w2).release();
    expect(events.filter((e) => e.type === 'saturation').map((e) => (e as { level: string }).level)).toEqual(['critical', 'ok']);
    await pool.close();
  });

  it('reports a release before the acquire of the waiter that gets the connection', async () => {
    const { pool, events } = makePool({ max: 1 });
    const a = await pool.acquire(undefined, undefined, true);
    const waiting = pool.acquire({ timeoutMs: 5000 }, undefined, true);
    events.length = 0;
    a.release();
    const b = await waiting;
    expect(events.filter((e) => e.type === 'acquire' || e.type === 'release').map((e) => e.type)).toEqual(['release', 'acquire']);
    b.release();
    await pool.close();
  });

  it('a throwing event listener breaks nothing', async () => {
    const { pool } = makePool({ max: 1 });
    pool.events.add(() => {
      throw new Error('metrics bug');
    });
    const lease = await pool.acquire(undefined, undefined, true);
    lease.release();
    expect(pool.stats().released).toBe(1);
    await pool.close();
  });

  it('validates every acquire option up front, also when a connection is free', async () => {
    const { pool } = makePool({ max: 2 });
    const warm = await pool.acquire(undefined, undefined, true);
    warm.release();
    expect(pool.stats().idle).toBe(1);
    for (const [opts, option] of [
      [{ timeoutMs: -5 }, 'timeoutMs'],
      [{ timeoutMs: 1.5 }, 'timeoutMs'],
      [{ signal: 'soon' }, 'signal'],
      [{ tag: 42 }, 'tag'],
    ] as const) {
      await expect(pool.acquire(opts as never, undefined, true)).rejects.toMatchObject({ code: 'CONFIG_INVALID', option });
    }
    expect(pool.stats().idle).toBe(1);
    expect(pool.stats().acquired).toBe(1);
    await pool.close();
  });

  it('a leased connection that dies frees its permit at once: a waiter is served, release() of the dead lease is a no-op', async () => {
    const { pool, driver } = makePool({ max: 1 });
    const lease = await pool.acquire(undefined, undefined, true);
    const conn = lease.client;
    const waiting = pool.acquire(undefined, undefined, true);
    conn.fail!(new Error('terminating connection due to administrator command'));
    const next = await waiting;
    expect(next.client.id).not.toBe(conn.id);
    expect(() => lease.release()).not.toThrow();
    expect(() => lease.client).toThrow(/whose connection died \(terminating connection/);
    next.release();
    expect(pool.stats().circuit).toBe('closed');
    await pool.close();
    expect(driver.open).toBe(0);
  });
});

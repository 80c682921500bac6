import { describe, expect, it } from 'vitest';
import { makePool, ofType, until } from '../../../helpers/core-pool.js';

function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
}

describe('Supply', () => {
  it('opens min connections on its own, or none when the adapter keeps pg.Pool\'s meaning of min', async () => {
    const own = makePool({ max: 4, min: 2 });
    await until(() => own.pool.stats().idle === 2);
    expect(own.driver.opened).toBe(2);
    const pgLike = makePool({ max: 4, min: 2 }, undefined, {}, { openMin: false });
    await new Promise((r) => setImmediate(r));
    expect(pgLike.driver.opened).toBe(0);
    await own.pool.close();
    await pgLike.pool.close();
  });

  it('after a pool worked, a failure backs off one attempt at a time and the waiter is served once connecting works', async () => {
    const { pool, driver, events } = makePool({ max: 2, reconnect: { baseMs: 5, maxMs: 20 }, circuitBreaker: false });
    const first = await pool.acquire(undefined, undefined, true);
    first.destroy();
    await until(() => driver.open === 0);
    driver.failWith = refused();
    const waiting = pool.acquire({ timeoutMs: 5000 }, undefined, true);
    await until(() => ofType(events, 'reconnect').length >= 2);
    expect(pool.stats().reconnectAttempt).toBeGreaterThanOrEqual(2);
    expect(pool.stats().creating).toBeLessThanOrEqual(1); // one attempt at a time
    driver.failWith = undefined;
    const lease = await waiting;
    expect(pool.stats().reconnectAttempt).toBe(0);
    const attempts = ofType(events, 'reconnect').map((e) => e.attempt);
    expect(attempts.slice(0, 2)).toEqual([1, 2]);
    lease.release();
    await pool.close();
  });

  it('gives up after reconnect.maxAttempts: the waiters get the connect error', async () => {
    const driver = (await import('../../../helpers/fake-driver.js')).FakeDriver;
    const d = new driver();
    const { pool } = makePool({ max: 1, reconnect: { baseMs: 1, maxMs: 2, maxAttempts: 3 }, circuitBreaker: false }, d);
    const first = await pool.acquire(undefined, undefined, true);
    first.destroy();
    await until(() => d.open === 0);
    d.failWith = refused();
    const err = await pool.acquire({ timeoutMs: 10_000 }, undefined, true).catch((e: unknown) => e);
    expect(String(err)).toContain('ECONNREFUSED');
    expect(pool.stats().connectFailures).toBe(3);
    await pool.close();
  });

  it("a connect hook's failure goes to the caller it was opened for: no backoff, nothing for the breaker", async () => {
    const { pool, driver, events } = makePool({ max: 1, circuitBreaker: { failureThreshold: 1 } });
    driver.failWith = Object.assign(new Error('SET search_path failed'), { hook: true });
    await expect(pool.acquire({ timeoutMs: 5000 }, undefined, true)).rejects.toThrow('SET search_path failed');
    expect(ofType(events, 'reconnect')).toHaveLength(0);
    expect(pool.stats()).toMatchObject({ circuit: 'closed', reconnectAttempt: 0, connectFailures: 1 });
    driver.failWith = undefined;
    (await pool.acquire(undefined, undefined, true)).release();
    await pool.close();
  });

  it('waits for a permit held by a dedicated connection instead of failing', async () => {
    const { pool } = makePool({ max: 1 });
    expect(pool.budget.tryTake('dedicated')).toBe(true);
    const waiting = pool.acquire({ timeoutMs: 5000 }, undefined, true);
    await new Promise((r) => setImmediate(r));
    expect(pool.stats()).toMatchObject({ pending: 1, total: 0 });
    pool.budget.give('dedicated');
    (await waiting).release();
    expect(pool.stats().total).toBe(1);
    await pool.close();
  });
});

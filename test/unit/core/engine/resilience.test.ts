import { describe, expect, it } from 'vitest';
import { CircuitOpenError } from '../../../../src/core/errors.js';
import { makePool, ofType, until } from '../../../helpers/core-pool.js';

const down = (): Error => Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' });

describe('Resilience', () => {
  it('opens the circuit when nothing works: queued callers fail at once, new ones fail fast with retryAfterMs', async () => {
    const { pool, driver, events } = makePool({
      max: 2,
      reconnect: { baseMs: 1, maxMs: 2 },
      circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 60_000, openAfterMs: 0 },
    });
    (await pool.acquire(undefined, undefined, true)).destroy(); // the pool worked
    await until(() => driver.open === 0);
    driver.failWith = down();
    const queued = pool.acquire({ timeoutMs: 30_000 }, undefined, true);
    const err = await queued.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(pool.stats().circuit).toBe('open');
    const fast = await pool.acquire(undefined, undefined, true).catch((e: unknown) => e);
    expect(fast).toBeInstanceOf(CircuitOpenError);
    expect((fast as CircuitOpenError).retryAfterMs).toBeGreaterThan(50_000);
    expect((fast as Error).message).toContain('ECONNREFUSED');
    expect(ofType(events, 'circuit').map((e) => `${e.from}->${e.to}`)).toEqual(['closed->open']);
    await pool.close();
  });

  it('a failure while a connection of the pool works is not an outage', async () => {
    const { pool, driver } = makePool({ max: 3, circuitBreaker: { failureThreshold: 1, openAfterMs: 0 }, reconnect: { baseMs: 1, maxMs: 2 } });
    const held = await pool.acquire(undefined, undefined, true);
    driver.failWith = down();
    for (let i = 0; i < 5; i++) pool.connectionFailure('refused');
    expect(pool.stats().circuit).toBe('closed');
    held.release();
    await pool.close();
  });

  it('after resetTimeoutMs one probe goes through; its success closes the circuit', async () => {
    const { pool, driver, events } = makePool({
      max: 2,
      reconnect: { baseMs: 1, maxMs: 2 },
      circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 30, openAfterMs: 0 },
    });
    (await pool.acquire(undefined, undefined, true)).destroy();
    await until(() => driver.open === 0);
    driver.failWith = down();
    await pool.acquire({ timeoutMs: 30_000 }, undefined, true).catch(() => undefined);
    expect(pool.stats().circuit).toBe('open');
    driver.failWith = undefined;
    await until(() => pool.stats().circuit === 'closed');
    expect(ofType(events, 'circuit').map((e) => e.to)).toEqual(['open', 'half-open', 'closed']);
    (await pool.acquire(undefined, undefined, true)).release();
    await pool.close();
  });

  it('health checks: unhealthy after failureThreshold failures in a row, healthy again on the first pass', async () => {
    let fail = true;
    const { pool, events } = makePool(
      { max: 1, healthCheck: { intervalMs: 10, failureThreshold: 2 } },
      undefined,
      {
        healthCheck: async () => {
          if (fail) throw new Error('PING got no answer');
        },
      },
    );
    await until(() => ofType(events, 'health').length === 1);
    expect(ofType(events, 'health')[0]).toMatchObject({ healthy: false, detail: 'PING got no answer' });
    expect(pool.stats().healthy).toBe(false);
    fail = false;
    await until(() => ofType(events, 'health').length === 2);
    expect(pool.stats().healthy).toBe(true);
    await pool.close();
  });
});

import { describe, expect, it } from 'vitest';
import { CEILING_PROBE_MS } from '../../../../src/core/ceiling.js';
import { FakeDriver, type FakeConn } from '../../../helpers/fake-driver.js';
import { makePool, ofType, until } from '../../../helpers/core-pool.js';

/** A fake server that refuses connections beyond `limit` with PostgreSQL's 53300. */
class LimitedDriver extends FakeDriver {
  limit = 1;
  override async create(): Promise<FakeConn> {
    if (this.open >= this.limit) throw Object.assign(new Error('too many connections for role "app"'), { code: '53300' });
    return super.create();
  }
}

describe('Ceiling', () => {
  it('a limit refusal while a connection works caps the pool there: the waiters share it, the breaker stays closed', async () => {
    const driver = new LimitedDriver();
    const { pool, events, logs } = makePool({ max: 4, circuitBreaker: { failureThreshold: 1 } }, driver);
    const served: number[] = [];
    await Promise.all(
      [1, 2, 3, 4, 5, 6].map(async () => {
        const l = await pool.acquire({ timeoutMs: 5000 }, undefined, true);
        served.push(l.client.id);
        await Promise.resolve();
        l.release();
      }),
    );
    expect(served).toHaveLength(6);
    expect(pool.stats()).toMatchObject({ ceiling: 1, circuit: 'closed', total: 1 });
    // refusals of attempts made at once lower it step by step to what works
    expect(ofType(events, 'ceiling').at(-1)).toMatchObject({ ceiling: 1, max: 4 });
    expect(logs.filter((l) => l.includes('connection limit'))).toHaveLength(1);
    expect(logs.find((l) => l.includes('connection limit'))).toMatch(/keeps its \d working connections? \(ceiling \d of max 4\)/);
    await pool.close();
  });

  it('a probe after the wait finds room again and lifts the ceiling at max', async () => {
    const driver = new LimitedDriver();
    const { pool, events } = makePool({ max: 2 }, driver);
    const a = await pool.acquire(undefined, undefined, true);
    const waiting = pool.acquire({ timeoutMs: 10_000 }, undefined, true);
    await until(() => pool.stats().ceiling === 1);
    driver.limit = 10; // the server has room again
    const started = performance.now();
    const b = await waiting; // served by the probe's new connection, not by a release
    expect(performance.now() - started).toBeGreaterThanOrEqual(CEILING_PROBE_MS - 50);
    expect(b.client.id).not.toBe(a.client.id);
    expect(pool.stats().ceiling).toBeUndefined();
    expect(ofType(events, 'ceiling').map((e) => e.ceiling)).toEqual([1, undefined]);
    a.release();
    b.release();
    await pool.close();
  });
});

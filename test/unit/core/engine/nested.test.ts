import { describe, expect, it } from 'vitest';
import { runWithTag } from '../../../../src/core/context.js';
import { makePool, ofType, until } from '../../../helpers/core-pool.js';

describe('NestedScope', () => {
  it('an acquire inside holding() of the same pool is nested; one after it is not', async () => {
    const { pool, events, logs } = makePool({ max: 2 });
    await runWithTag('job', async () => {
      const outer = await pool.acquire(undefined, undefined, false);
      await pool.holding(
        outer,
        async () => {
          (await pool.acquire(undefined, undefined, false)).release();
        },
        undefined,
      );
      pool.endLease(outer, undefined);
      (await pool.acquire(undefined, undefined, false)).release();
    });
    await until(() => ofType(events, 'nested-acquire').length === 1);
    await new Promise((r) => setImmediate(r));
    expect(ofType(events, 'nested-acquire')).toHaveLength(1);
    expect(ofType(events, 'nested-acquire')[0]!.tag).toBe('job');
    expect(logs.filter((l) => l.includes('nested acquire'))).toHaveLength(1);
    await pool.close();
  });

  it("'ignore' turns detection off", async () => {
    const { pool, events } = makePool({ max: 2, onNestedAcquire: 'ignore' });
    await runWithTag('job', async () => {
      const outer = await pool.acquire(undefined, undefined, true);
      (await pool.acquire(undefined, undefined, true)).release();
      outer.release();
    });
    await new Promise((r) => setImmediate(r));
    expect(ofType(events, 'nested-acquire')).toHaveLength(0);
    await pool.close();
  });

  it('warns once per pair of sites, however often it happens', async () => {
    const { pool, logs } = makePool({ max: 2 });
    for (let i = 0; i < 5; i++) {
      await runWithTag('loop', async () => {
        const outer = await pool.acquire(undefined, undefined, true);
        (await pool.acquire(undefined, undefined, true)).release();
        outer.release();
      });
    }
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(pool.meter.nestedAcquires).toBe(5);
    expect(logs.filter((l) => l.includes('nested acquire'))).toHaveLength(1);
    await pool.close();
  });
});

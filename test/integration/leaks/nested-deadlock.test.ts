import { describe, expect, it } from 'vitest';
import { AcquireTimeoutError, type EventOf } from '../../../src/index.js';
import { testPgPool } from '../../helpers/pools.js';

describe('the nested-acquire deadlock', () => {
  it('max 2, two callers each holding one and acquiring a second: nested-acquire events and a timeout that says so', async () => {
    const { pool } = testPgPool({ max: 2, acquireTimeoutMs: 300, leakDetection: { captureStacks: 'always' } });
    const nested: EventOf<'nested-acquire'>[] = [];
    pool.on('event', (e) => {
      if (e.type === 'nested-acquire') nested.push(e);
    });
    let entered = 0;
    let bothIn: () => void;
    const gate = new Promise<void>((r) => (bothIn = r));
    // each caller keeps its connection until both nested acquires have settled: a caller
    // whose timeout fired first would otherwise release and let the other one through
    let settled = 0;
    let bothSettled: () => void;
    const done = new Promise<void>((r) => (bothSettled = r));
    const caller = (): Promise<unknown> =>
      pool.withConnection(async (client) => {
        await client.query('select 1');
        if (++entered === 2) bothIn();
        await gate;
        try {
          // the bug: using the pool instead of the client already held
          return await pool.query('select 2');
        } finally {
          if (++settled === 2) bothSettled();
          await done;
        }
      });
    const results = await Promise.allSettled([caller(), caller()]);
    expect(nested).toHaveLength(2);
    expect(nested[0]!.heldSite).toMatch(/nested-deadlock\.test\.ts:\d+/);
    expect(nested[0]!.site).toMatch(/nested-deadlock\.test\.ts:\d+/);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as AcquireTimeoutError;
      expect(err).toBeInstanceOf(AcquireTimeoutError);
      expect(err.nested).toBe(true);
      expect(err.message).toContain('already holds lease');
      expect(err.message).toContain('nested-acquire deadlock');
    }
    expect(pool.stats().active).toBe(0);
  });
});

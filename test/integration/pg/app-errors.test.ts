import { describe, expect, it } from 'vitest';
import { pgConnectionCount } from '../../helpers/server-count.js';
import { waitFor } from '../../helpers/events.js';
import { testPgPool, testRedisPool } from '../../helpers/pools.js';

class NotFound extends Error {}

describe('an application error inside withConnection / withTransaction', () => {
  it('300 withConnection calls on max 4, one in three throwing: at most 4 connections opened, and the server agrees', async () => {
    const { pool, prefix } = testPgPool({ max: 4 });
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, (_, i) =>
        pool.withConnection(async (c) => {
          await c.query('select 1');
          if (i % 3 === 0) throw new NotFound(`no user ${i}`); // a 404, a validation error: not the connection's fault
          return i;
        }),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected');
    expect(failed).toHaveLength(100);
    expect(failed.every((r) => (r as PromiseRejectedResult).reason instanceof NotFound)).toBe(true);
    expect(pool.stats().created).toBeLessThanOrEqual(4);
    expect(pool.stats().destroyed['released-with-error'] + pool.stats().destroyed.error + pool.stats().destroyed.dirty).toBe(0);
    await waitFor(async () => (await pgConnectionCount(prefix)) === pool.stats().total, { message: 'server count equals stats().total' });
    console.log(`app errors: 300 calls, 100 thrown, connections opened ${pool.stats().created}, total ${pool.stats().total}`);
  });

  it('withTransaction: after the ROLLBACK the connection is idle and goes back to the pool', async () => {
    const { pool } = testPgPool({ max: 2 });
    for (let i = 0; i < 40; i++) {
      await expect(
        pool.withTransaction(async (c) => {
          await c.query('select 1');
          throw new NotFound('nope');
        }),
      ).rejects.toBeInstanceOf(NotFound);
    }
    expect(pool.stats().created).toBe(1);
    expect(pool.stats().destroyed.dirty + pool.stats().destroyed['released-with-error']).toBe(0);
  });

  it('an error thrown while a query is still running: the connection is waited for, not thrown away', async () => {
    const { pool } = testPgPool({ max: 1 });
    await expect(
      pool.withConnection(async (c) => {
        void c.query('select pg_sleep(0.05)').catch(() => undefined);
        throw new NotFound('gave up early');
      }),
    ).rejects.toBeInstanceOf(NotFound);
    expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
    expect(pool.stats().created).toBe(1);
  });

  it('Redis follows the same rule: an application error keeps the connection', async () => {
    const { pool } = testRedisPool({ max: 3 });
    for (let i = 0; i < 30; i++) {
      await pool
        .withConnection(async (r) => {
          await r.ping();
          if (i % 3 === 0) throw new NotFound('nope');
        })
        .catch(() => undefined);
    }
    expect(pool.stats().created).toBe(1);
  });
});

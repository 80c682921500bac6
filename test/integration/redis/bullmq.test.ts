/**
 * Issue 17: BullMQ on a lifeguard pool. A Queue takes the shared client; each Worker
 * duplicates it for its blocking connection, which lifeguard counts in the budget:
 * the server never sees more than `max` of the pool's connections, and a Worker that
 * does not fit is refused with BUDGET_EXHAUSTED instead of opening one more.
 */
import { Queue, Worker } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/events.js';
import { testRedisPool } from '../../helpers/pools.js';
import { redisConnectionCount } from '../../helpers/server-count.js';

describe('BullMQ on a budgeted pool', () => {
  it('N Workers on max M: every connection is in the budget, all jobs are processed', async () => {
    const N = 3;
    const M = N + 1; // the shared client + one blocking connection per Worker
    const { pool, prefix } = testRedisPool({ max: M, publishBudget: false });
    const name = `${pool.name}q`;
    const queue = new Queue(name, { connection: pool.client });
    const done: string[] = [];
    let peak = 0;
    const sample = setInterval(() => {
      void redisConnectionCount(prefix).then((n) => (peak = Math.max(peak, n)));
    }, 20);
    const workers = Array.from({ length: N }, () => new Worker(name, async (job) => void done.push(String(job.data.i)), { connection: pool.client }));
    try {
      expect(pool.stats().budget).toMatchObject({ shared: 1, dedicated: N });
      for (let i = 0; i < 30; i++) await queue.add('job', { i });
      await waitFor(() => done.length === 30, { timeoutMs: 15_000 });
      expect(await redisConnectionCount(prefix)).toBeLessThanOrEqual(M);
      // BullMQ's blocking setting stays on its own connections
      expect(pool.client.options.maxRetriesPerRequest).not.toBeNull();
    } finally {
      clearInterval(sample);
      await Promise.all(workers.map((w) => w.close()));
      await queue.close();
    }
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(M);
    await waitFor(() => pool.stats().budget.dedicated === 0);
    console.info(`bullmq: ${N} workers on max ${M}: server saw at most ${peak} of the pool's connections`);
  });

  it('with M too small, the Worker that does not fit is refused with BUDGET_EXHAUSTED', async () => {
    const { pool, prefix } = testRedisPool({ max: 3, publishBudget: false });
    const name = `${pool.name}q`;
    const fit = [new Worker(name, async () => undefined, { connection: pool.client }), new Worker(name, async () => undefined, { connection: pool.client })];
    try {
      let err: unknown;
      try {
        new Worker(name, async () => undefined, { connection: pool.client });
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'BUDGET_EXHAUSTED', max: 3 });
      expect(String((err as Error).message)).toMatch(/budget of 3 is full: 1 shared, 0 pooled .* 2 dedicated/);
      await Promise.all(fit.map((w) => w.waitUntilReady()));
      expect(await redisConnectionCount(prefix)).toBeLessThanOrEqual(3);
    } finally {
      await Promise.all(fit.map((w) => w.close()));
    }
  });
});

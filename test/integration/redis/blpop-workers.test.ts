import { describe, expect, it } from 'vitest';
import { redisConnectionCount } from '../../helpers/server-count.js';
import { testRedisPool } from '../../helpers/pools.js';
import { unique } from '../../helpers/unique.js';

describe('BLPOP workers on pooled connections', () => {
  it('5 workers receive 2,000 items pushed through the shared client exactly once; the server never sees more than max', async () => {
    const max = 7;
    const { pool, prefix } = testRedisPool({ max });
    const queue = unique('q');
    const received = new Map<string, number>();
    let done = false;
    let peak = 0;
    const sampler = (async () => {
      while (!done) peak = Math.max(peak, await redisConnectionCount(prefix));
    })();
    const worker = async (): Promise<void> => {
      while (!done) {
        const item = await pool.withConnection((r) => r.blpop(queue, 0.2));
        if (item) received.set(item[1], (received.get(item[1]) ?? 0) + 1);
      }
    };
    const workers = Array.from({ length: 5 }, worker);
    for (let i = 0; i < 2000; i += 100) {
      await pool.client.rpush(queue, ...Array.from({ length: 100 }, (_, j) => String(i + j)));
    }
    const deadline = Date.now() + 20_000;
    while (received.size < 2000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    done = true;
    await Promise.all(workers);
    await sampler;
    expect(received.size).toBe(2000);
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(max);
    const s = pool.stats();
    expect(s.active).toBe(0);
    // pooled connections plus the shared client
    expect(await redisConnectionCount(prefix)).toBe(s.total + 1);
    await pool.client.del(queue);
  });
});

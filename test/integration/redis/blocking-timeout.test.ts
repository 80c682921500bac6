import { describe, expect, it } from 'vitest';
import { redisOptionsFromEnv } from '../../../src/index.js';
import { REDIS, REDIS_URL } from '../../helpers/env.js';
import { testRedisPool } from '../../helpers/pools.js';
import { FaultProxy } from '../../helpers/proxy.js';
import { unique } from '../../helpers/unique.js';

describe('REDIS_SOCKET_TIMEOUT (the command timeout) never applies to blocking commands', () => {
  it('BLPOP key 0 survives 60 s with REDIS_SOCKET_TIMEOUT=30 (the default), then gets its value', async () => {
    const opts = redisOptionsFromEnv({ REDIS_URL, REDIS_SOCKET_TIMEOUT: '30' })!;
    const { pool } = testRedisPool({ ...opts, max: 3, leakDetection: { thresholdMs: 120_000 } });
    const key = unique('q');
    const popped = pool.withConnection((r) => r.blpop(key, 0));
    let settled = false;
    void popped.then(
      () => (settled = true),
      () => (settled = true),
    );
    // twice the command timeout: the point of the test is the wait itself
    await new Promise((r) => setTimeout(r, 60_000));
    expect(settled).toBe(false);
    await pool.client.rpush(key, 'job');
    expect(await popped).toEqual([key, 'job']);
  }, 90_000);

  it('with REDIS_SOCKET_TIMEOUT=1, BLPOP with a 2 s server timeout gets its nil; an ordinary command on a slow server times out', async () => {
    const proxy = await FaultProxy.start(REDIS);
    try {
      const opts = redisOptionsFromEnv({ REDIS_URL: proxy.url('redis'), REDIS_SOCKET_TIMEOUT: '1' })!;
      const { pool } = testRedisPool({ ...opts, max: 3, healthCheck: false });
      expect(await pool.withConnection((r) => r.blpop(unique('q'), 2))).toBeNull();
      await pool.client.ping();
      proxy.setLatency(1500);
      await expect(pool.client.get(unique('k'))).rejects.toThrow(/Command timed out/);
      proxy.setLatency(0);
      await pool.close();
    } finally {
      await proxy.close();
    }
  }, 30_000);
});

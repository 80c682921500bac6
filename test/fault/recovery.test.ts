import { afterEach, describe, expect, it } from 'vitest';
import type { EventOf } from '../../src/index.js';
import { REDIS_URL, hostPort } from '../helpers/env.js';
import { nextEvent, waitFor } from '../helpers/events.js';
import { testPgPool, testRedisPool } from '../helpers/pools.js';
import { FaultProxy } from '../helpers/proxy.js';
import { pgConnectionCount, pgTerminate } from '../helpers/server-count.js';
import { unique } from '../helpers/unique.js';

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe('recovery', () => {
  it('after an outage, min is refilled one connection at a time, not in one burst (Redis: min opens connections)', async () => {
    proxy = await FaultProxy.start(hostPort(REDIS_URL));
    const { pool } = testRedisPool({
      url: `redis://127.0.0.1:${proxy.port}`,
      min: 4,
      max: 7,
      reconnect: { baseMs: 50, maxMs: 200 },
      circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 200 },
      healthCheck: { intervalMs: 100, failureThreshold: 1 },
    });
    await waitFor(() => pool.stats().total === 4);
    proxy.setMode('refuse');
    proxy.cut();
    await nextEvent(pool, 'circuit', (e) => e.to === 'open', { timeoutMs: 5000 });
    const connects: EventOf<'connect'>[] = [];
    let maxCreating = 0;
    pool.on('event', (e) => {
      if (e.type === 'connect') connects.push(e);
      maxCreating = Math.max(maxCreating, pool.stats().creating);
    });
    proxy.setMode('pass');
    await nextEvent(pool, 'circuit', (e) => e.to === 'closed', { timeoutMs: 5000 });
    await waitFor(() => pool.stats().total === 4, { timeoutMs: 5000 });
    expect(connects.length).toBeGreaterThanOrEqual(4);
    expect(maxCreating).toBeLessThanOrEqual(1);
    expect(new Set(connects.map((c) => c.time)).size).toBeGreaterThan(1);
  });

  it('a listener whose connection is terminated LISTENs again, says so, and still delivers', async () => {
    const { pool, prefix } = testPgPool({ max: 3, reconnect: { baseMs: 10, maxMs: 50 }, healthCheck: false });
    const channel = unique('ch');
    const listener = await pool.listener();
    const got: (string | undefined)[] = [];
    await listener.listen(channel, (payload) => got.push(payload));
    const resubscribed = nextEvent(pool, 'resubscribe', undefined, { timeoutMs: 5000 });
    expect(await pgTerminate(prefix)).toBe(1);
    const e = await resubscribed;
    expect(e).toMatchObject({ connection: 'listener', id: listener.id, channels: [channel] });
    await waitFor(async () => {
      await pool.query('select pg_notify($1, $2)', [channel, 'again']);
      return got.includes('again');
    });
    expect(await pgConnectionCount(prefix)).toBe(pool.stats().total + 1);
    await listener.close();
  });
});

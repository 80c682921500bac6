import { afterEach, describe, expect, it } from 'vitest';
import { CircuitOpenError, type EventOf } from '../../src/index.js';
import { nextEvent, waitFor } from '../helpers/events.js';
import { testRedisPool } from '../helpers/pools.js';
import { EphemeralRedis } from '../helpers/redis-server.js';
import { redisConnectionCount } from '../helpers/server-count.js';

let server: EphemeralRedis | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('Redis killed and restarted', () => {
  it('opens the breaker, fails fast, backs off with jitter, and serves again after restart', async () => {
    server = await EphemeralRedis.start();
    const { pool, prefix } = testRedisPool({
      url: server.url,
      max: 4,
      connectTimeoutMs: 500,
      reconnect: { baseMs: 20, maxMs: 400 },
      circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 1000 },
      healthCheck: false,
    });
    await pool.withConnection((r) => r.ping());
    const reconnects: EventOf<'reconnect'>[] = [];
    pool.on('event', (e) => {
      if (e.type === 'reconnect') reconnects.push(e);
    });

    const opened = nextEvent(pool, 'circuit', (e) => e.to === 'open', { timeoutMs: 10_000 });
    await server.kill();
    await opened;

    const t0 = performance.now();
    const err = await pool.acquire().catch((e: unknown) => e);
    expect(performance.now() - t0).toBeLessThan(10);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect((err as CircuitOpenError).retryAfterMs).toBeGreaterThan(0);
    await expect(pool.withConnection((r) => r.ping())).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });

    const closed = nextEvent(pool, 'circuit', (e) => e.to === 'closed', { timeoutMs: 15_000 });
    const restartedAt = performance.now();
    await server.restart();
    await closed;
    // reset timeout (up to 2 × 1000 ms after a failed probe) plus one probe
    expect(performance.now() - restartedAt).toBeLessThan(2 * 1000 + 1500);
    expect(await pool.withConnection((r) => r.ping())).toBe('PONG');
    expect(await pool.client.ping()).toBe('PONG');

    expect(reconnects.length).toBeGreaterThan(2);
    for (const r of reconnects) expect(r.delayMs).toBeLessThanOrEqual(Math.min(400, 20 * 2 ** (r.attempt - 1)));
    expect(new Set(reconnects.map((r) => r.delayMs)).size).toBeGreaterThan(1);

    await waitFor(async () => (await redisConnectionCount(prefix, server!.url)) === pool.stats().total + 1, { timeoutMs: 5000 });
    expect(pool.stats().active).toBe(0);
  });

  it('a 10-second outage with intervalMs 200 yields exactly two health events', async () => {
    server = await EphemeralRedis.start();
    const { pool } = testRedisPool({
      url: server.url,
      max: 3,
      connectTimeoutMs: 300,
      reconnect: { baseMs: 20, maxMs: 300 },
      circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 500 },
      healthCheck: { intervalMs: 200, failureThreshold: 2 },
    });
    await pool.client.ping();
    const health: EventOf<'health'>[] = [];
    pool.on('event', (e) => {
      if (e.type === 'health') health.push(e);
    });
    await server.kill();
    await new Promise((r) => setTimeout(r, 10_000)); // the outage itself is what is tested
    await server.restart();
    await waitFor(() => health.length >= 2, { timeoutMs: 10_000, message: 'no recovery health event' });
    await new Promise((r) => setTimeout(r, 1000)); // and nothing more follows
    expect(health.map((h) => h.healthy)).toEqual([false, true]);
  }, 40_000);
});

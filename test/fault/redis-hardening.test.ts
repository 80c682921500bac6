/**
 * Issue 12 on an own redis-server: close() bounded while the server hangs, a database
 * number the server refuses, odd values thrown by handlers, use after release in
 * callback form.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { LeaseReleasedError } from '../../src/index.js';
import { waitFor } from '../helpers/events.js';
import { recordingLogger, testRedisPool } from '../helpers/pools.js';
import { EphemeralRedis } from '../helpers/redis-server.js';
import { unique } from '../helpers/unique.js';

let server: EphemeralRedis | undefined;
afterEach(async () => {
  if (server?.pid !== undefined) process.kill(server.pid, 'SIGCONT');
  await server?.stop();
  server = undefined;
});

/** SIGSTOP: the kernel still accepts connections, nothing answers. */
function hang(s: EphemeralRedis): void {
  process.kill(s.pid!, 'SIGSTOP');
}

describe('close() while the Redis server hangs', () => {
  it('resolves within its timeout although a pooled connection is being opened', async () => {
    server = await EphemeralRedis.start();
    const { pool } = testRedisPool({ url: server.url, max: 3, healthCheck: false, connectTimeoutMs: 5000 });
    await pool.client.ping();
    hang(server);
    const pending = pool.withConnection((r) => r.ping()).catch((e: unknown) => e);
    await waitFor(() => pool.stats().creating === 1);
    const started = performance.now();
    await pool.close({ timeoutMs: 200 });
    const tookMs = performance.now() - started;
    // before: never resolved (connect() waits for the ready check forever); connectTimeoutMs is 5000
    expect(tookMs).toBeLessThan(2500);
    await pending;
  });

  it('resolves within its timeout although QUIT to idle connections gets no answer', async () => {
    server = await EphemeralRedis.start();
    const { pool } = testRedisPool({ url: server.url, max: 3, healthCheck: false, connectTimeoutMs: 5000 });
    await Promise.all([pool.withConnection((r) => r.ping()), pool.withConnection((r) => r.ping())]);
    expect(pool.stats().idle).toBe(2);
    hang(server);
    const started = performance.now();
    await pool.close({ timeoutMs: 200 });
    // before: 5 s (each QUIT and the shared client's waited for connectTimeoutMs)
    expect(performance.now() - started).toBeLessThan(2500);
  });

  it('a pooled connect to a hung server fails within connectTimeoutMs instead of hanging', async () => {
    server = await EphemeralRedis.start();
    const { pool } = testRedisPool({ url: server.url, max: 3, healthCheck: false, connectTimeoutMs: 300, acquireTimeoutMs: 10_000 });
    await pool.client.ping();
    hang(server);
    const err = (await pool.withConnection((r) => r.ping()).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/no ready connection within 300 ms/);
  });
});

describe('a database the server refuses', () => {
  it('redis://…/99999 fails the pooled connection with the server\'s error and writes nothing to db 0', async () => {
    server = await EphemeralRedis.start();
    const logger = recordingLogger();
    const { pool } = testRedisPool({ url: `${server.url}/99999`, max: 3, healthCheck: false, logger, reconnect: { baseMs: 10, maxMs: 20, maxAttempts: 1 } });
    const key = unique('k');
    const err = (await pool.withConnection((r) => r.set(key, 'v')).catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/DB index is out of range/);
    await pool.client.set(key, 'v').catch(() => undefined);
    const admin = new Redis(server.url);
    try {
      expect(await admin.exists(key)).toBe(0);
    } finally {
      admin.disconnect();
    }
  });
});

describe('odd values thrown by handlers', () => {
  it('a subscriber handler throwing Object.create(null) is logged, not an uncaught exception', async () => {
    server = await EphemeralRedis.start();
    const logger = recordingLogger();
    const { pool } = testRedisPool({ url: server.url, max: 3, healthCheck: false, logger });
    const seen: unknown[] = [];
    const on = (e: unknown): void => void seen.push(e);
    process.on('uncaughtException', on);
    try {
      const sub = await pool.subscriber();
      const channel = unique('c');
      await sub.subscribe(channel, () => {
        throw Object.create(null);
      });
      await pool.client.publish(channel, 'x');
      await waitFor(() => logger.lines.some((l) => l.message.includes('handler threw')));
      await sub.close();
    } finally {
      process.off('uncaughtException', on);
    }
    expect(seen).toEqual([]);
  });

  it('a released lease client called with a callback hands LEASE_RELEASED to the callback', async () => {
    server = await EphemeralRedis.start();
    const { pool } = testRedisPool({ url: server.url, max: 3, healthCheck: false });
    const lease = await pool.acquire();
    const client = lease.client;
    lease.release();
    const err = await new Promise<unknown>((resolve) => {
      expect(() => client.get('k', (e: unknown) => resolve(e))).not.toThrow();
    });
    expect(err).toBeInstanceOf(LeaseReleasedError);
  });
});

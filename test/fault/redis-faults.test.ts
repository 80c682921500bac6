import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { Redis } from 'ioredis';
import { ConnectionLimitError } from '../../src/index.js';
import { nextEvent, waitFor } from '../helpers/events.js';
import { testRedisPool } from '../helpers/pools.js';
import { EphemeralRedis } from '../helpers/redis-server.js';
import { redisConnectionCount } from '../helpers/server-count.js';
import { unique } from '../helpers/unique.js';

let server: EphemeralRedis | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('Redis faults', () => {
  it('maxclients reached while the shared client works: a clear error, a subscriber gets CONNECTION_LIMIT, the breaker stays closed, recovery when room returns', async () => {
    server = await EphemeralRedis.start();
    const admin = new Redis(server.url, { retryStrategy: () => null });
    admin.on('error', () => undefined);
    onTestFinished(() => void admin.quit().catch(() => undefined));
    const { pool } = testRedisPool({
      url: server.url,
      max: 4,
      reconnect: { baseMs: 10, maxMs: 50 },
      circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 300, openAfterMs: 0 },
      healthCheck: false,
    });
    await pool.client.ping();
    // room for the admin and the shared client only
    await admin.config('SET', 'maxclients', '2');
    const err = await pool.withConnection((r) => r.ping()).catch((e: unknown) => e);
    expect(String((err as Error).message)).toMatch(/max number of clients reached|maxclients is reached/i);
    await pool.withConnection((r) => r.ping()).catch(() => undefined);
    const subErr = await pool.subscriber().catch((e: unknown) => e);
    expect(subErr).toBeInstanceOf(ConnectionLimitError);
    expect((subErr as ConnectionLimitError).code).toBe('CONNECTION_LIMIT');
    expect((subErr as Error).message).toMatch(/no subscriber connection: the server refused it at its connection limit \(.*max(imum)? number of clients reached|maxclients/i);
    expect(pool.stats().budget.subscriber).toBe(0);
    // the shared client works: the server is up, so the circuit does not open
    expect(pool.stats().circuit).toBe('closed');
    expect(await pool.client.ping()).toBe('PONG');
    await admin.config('SET', 'maxclients', '100');
    expect(await pool.withConnection((r) => r.ping())).toBe('PONG');
    expect(pool.stats().circuit).toBe('closed');
  });

  it('CLIENT KILL of an in-use connection: that caller gets an error, the connection is destroyed, the pool stays healthy', async () => {
    const { pool, prefix } = testRedisPool({ max: 3, healthCheck: false });
    const queue = unique('q');
    // settled at once: it rejects while the test is still killing the connection
    const blocked = pool.withConnection((r) => r.blpop(queue, 5)).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    await waitFor(() => pool.stats().active === 1);
    // kill the pooled connection, not the shared client
    const killed = nextEvent(pool, 'destroy');
    await waitFor(async () => (await redisConnectionCount(prefix)) === 2);
    const { parseClientList } = await import('../helpers/server-count.js');
    const admin = new Redis();
    const rows = parseClientList((await admin.client('LIST')) as string).filter((c) => c.name?.startsWith(prefix) && c.cmd === 'blpop');
    expect(rows).toHaveLength(1);
    await admin.client('KILL', 'ID', rows[0]!.id!);
    await admin.quit();
    expect((await blocked)?.message).toMatch(/Connection is closed/);
    await killed;
    expect(await pool.withConnection((r) => r.ping())).toBe('PONG');
    expect(pool.stats().circuit).toBe('closed');
  });

  it('a subscriber resubscribes after its connection is killed, and says so', async () => {
    const { pool, prefix } = testRedisPool({ max: 3, reconnect: { baseMs: 10, maxMs: 50 }, healthCheck: false });
    const channel = unique('ch');
    const sub = await pool.subscriber();
    const got: string[] = [];
    await sub.subscribe(channel, (m) => got.push(m));
    const resubscribed = nextEvent(pool, 'resubscribe', undefined, { timeoutMs: 5000 });
    const { parseClientList } = await import('../helpers/server-count.js');
    const admin = new Redis();
    const rows = parseClientList((await admin.client('LIST')) as string).filter((c) => c.name?.startsWith(prefix) && Number(c.sub) > 0);
    await admin.client('KILL', 'ID', rows[0]!.id!);
    const e = await resubscribed;
    expect(e.channels).toEqual([channel]);
    await waitFor(async () => {
      await admin.publish(channel, 'after');
      return got.includes('after');
    });
    await admin.quit();
    await sub.close();
  });
});

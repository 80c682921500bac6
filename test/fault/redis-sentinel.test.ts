/**
 * Issue 17: one master, one replica and one sentinel (`redis-server --sentinel`), on
 * free loopback ports, started for this file and always torn down. A failover under
 * load (SENTINEL FAILOVER) loses no BLPOP message and gives exactly the expected events.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisPool, type LifeguardEvent } from '../../src/index.js';
import { waitFor } from '../helpers/events.js';
import { closeAfterTest, recordingLogger } from '../helpers/pools.js';
import { EphemeralRedis } from '../helpers/redis-server.js';
import { unique } from '../helpers/unique.js';

let master: EphemeralRedis;
let replica: EphemeralRedis;
let sentinel: EphemeralRedis;
const NAME = 'lgmaster';

beforeAll(async () => {
  master = await EphemeralRedis.start();
  replica = await EphemeralRedis.start({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  // a sentinel is redis-server --sentinel with a config file it can rewrite
  sentinel = await EphemeralRedis.start({
    args: ['--sentinel'],
    configText: [
      `sentinel monitor ${NAME} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${NAME} 1000`,
      `sentinel failover-timeout ${NAME} 5000`,
      `sentinel parallel-syncs ${NAME} 1`,
      '',
    ].join('\n'),
  });
  // wait until the sentinel knows the replica
  await waitFor(async () => {
    const r = new Redis({ host: '127.0.0.1', port: sentinel.port, lazyConnect: true, retryStrategy: () => null });
    r.on('error', () => undefined);
    try {
      await r.connect();
      const replicas = (await r.call('SENTINEL', 'REPLICAS', NAME)) as unknown[];
      return replicas.length === 1;
    } catch {
      return false;
    } finally {
      r.disconnect();
    }
  }, { timeoutMs: 15_000, intervalMs: 100 });
}, 60_000);

afterAll(async () => {
  await Promise.all([sentinel, replica, master].map((s) => s?.stop()));
});

describe('Redis Sentinel', () => {
  it('fails over under load: no BLPOP message lost, one failover event, resubscribed, breaker closed', async () => {
    const app = unique('lgs');
    const pool = closeAfterTest(
      createRedisPool({
        name: unique('s'),
        app,
        max: 6,
        logger: recordingLogger(),
        publishBudget: false,
        healthCheck: false,
        connectTimeoutMs: 1000,
        acquireTimeoutMs: 5000,
        reconnect: { baseMs: 20, maxMs: 200 },
        circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 5000 },
        sentinel: { sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: NAME },
      }),
    );
    const events: LifeguardEvent[] = [];
    pool.on('event', (e) => {
      if (['failover', 'circuit', 'resubscribe'].includes(e.type)) events.push(e);
    });
    await pool.client.ping();
    const sub = await pool.subscriber();
    const heard: string[] = [];
    await sub.subscribe(`${app}:news`, (m) => heard.push(m));

    const list = `${app}:jobs`;
    const N = 200;
    const received = new Set<string>();
    let stop = false;
    // two BLPOP workers on pooled connections; a connection killed by the failover fails the call, the worker goes on
    const worker = async (): Promise<void> => {
      while (!stop || received.size < N) {
        try {
          const r = await pool.withConnection((c) => c.blpop(list, 1));
          if (r) received.add(r[1]);
          else if (stop) return;
        } catch {
          await new Promise((res) => setTimeout(res, 50));
        }
      }
    };
    const workers = [worker(), worker()];
    // the producer pushes through the shared client, and confirms each push reached the replica
    // (WAIT 1): a push the old master took after the promotion is pushed again (at least once)
    const producer = (async () => {
      for (let i = 0; i < N; i++) {
        for (;;) {
          try {
            await pool.client.rpush(list, `m${i}`);
            const acked = await pool.client.wait(1, 200);
            if (acked >= 1) break;
          } catch {
            await new Promise((res) => setTimeout(res, 50));
          }
        }
        if (i % 20 === 0) await new Promise((res) => setTimeout(res, 10));
      }
    })();
    await waitFor(() => received.size >= 20, { timeoutMs: 10_000 });
    const oldMaster = `127.0.0.1:${master.port}`;
    const s = new Redis({ host: '127.0.0.1', port: sentinel.port });
    await s.call('SENTINEL', 'FAILOVER', NAME);
    s.disconnect();
    await producer;
    stop = true;
    await Promise.race([Promise.all(workers), new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${received.size}/${N} received`)), 20_000))]);
    expect(received.size).toBe(N);

    await waitFor(() => events.some((e) => e.type === 'failover'), { timeoutMs: 10_000 });
    await waitFor(() => events.some((e) => e.type === 'resubscribe'), { timeoutMs: 10_000 });
    const newMaster = `127.0.0.1:${replica.port}`;
    expect(events.filter((e) => e.type === 'circuit')).toEqual([]);
    expect(events.filter((e) => e.type === 'failover')).toMatchObject([{ from: oldMaster, to: newMaster, via: 'sentinel' }]);
    expect(events.filter((e) => e.type === 'resubscribe')).toMatchObject([{ connection: 'subscriber', channels: [`${app}:news`] }]);
    // the subscriber hears the new master
    await pool.client.publish(`${app}:news`, 'after');
    await waitFor(() => heard.includes('after'), { timeoutMs: 5000 });
    expect(pool.stats().circuit).toBe('closed');
    await sub.close();
  });
});

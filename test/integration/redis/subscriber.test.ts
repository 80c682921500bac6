import { describe, expect, it } from 'vitest';
import { AcquireTimeoutError, ConfigError, type EventOf, LeaseReleasedError } from '../../../src/index.js';
import { redisConnectionCount } from '../../helpers/server-count.js';
import { waitFor } from '../../helpers/events.js';
import { testRedisPool } from '../../helpers/pools.js';
import { unique } from '../../helpers/unique.js';

describe('subscribers', () => {
  it('receives a published message; close() drops the server count by one', async () => {
    const { pool, prefix } = testRedisPool({ max: 4 });
    await pool.client.ping();
    const channel = unique('ch');
    const sub = await pool.subscriber();
    const got = new Promise<[string, string]>((resolve) => void sub.subscribe(channel, (m, c) => resolve([m, c])));
    await waitFor(() => pool.subscribers()[0]?.channels.includes(channel) ?? false);
    await pool.client.publish(channel, 'hello');
    expect(await got).toEqual(['hello', channel]);
    const [info] = pool.subscribers();
    expect(info!.id).toBe(sub.id);
    expect(info!.lastMessageAt).toBeTypeOf('number');
    expect(info!.site).toMatch(/subscriber\.test\.ts:\d+/);
    const before = await redisConnectionCount(prefix);
    await sub.close();
    expect(await redisConnectionCount(prefix)).toBe(before - 1);
    expect(pool.subscribers()).toEqual([]);
    expect(pool.stats().budget.subscriber).toBe(0);
  });

  it('a subscriber with no subscription left, dropped without close(), is closed and reported (subscriber-lost)', async () => {
    const { pool, prefix } = testRedisPool({ max: 4, leakDetection: { captureStacks: 'always' } });
    const lost: EventOf<'leak'>[] = [];
    pool.on('event', (e) => {
      if (e.type === 'leak') lost.push(e);
    });
    await (async () => {
      const sub = await pool.subscriber({ tag: 'forgotten' });
      const channel = unique('ch');
      await sub.subscribe(channel, () => undefined);
      // with a subscription it would be held until close(); with none left it is abandoned
      await sub.unsubscribe(channel);
    })();
    expect(pool.subscribers()).toHaveLength(1);
    await waitFor(
      async () => {
        globalThis.gc!();
        await new Promise((r) => setImmediate(r));
        return lost.length > 0;
      },
      { timeoutMs: 10_000, message: 'the dropped subscriber was never reported' },
    );
    expect(lost[0]!.kind).toBe('subscriber-lost');
    expect(lost[0]!.lease.tag).toBe('forgotten');
    expect(lost[0]!.lease.site).toMatch(/subscriber\.test\.ts:\d+/);
    await waitFor(async () => pool.subscribers().length === 0 && (await redisConnectionCount(prefix)) === pool.stats().total + 1);
  });

  it('with max 3, the shared client and two leases out, subscriber() times out; after one release it succeeds', async () => {
    const { pool } = testRedisPool({ max: 3 });
    const a = await pool.acquire();
    const b = await pool.acquire();
    const err = await pool.subscriber({ timeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AcquireTimeoutError);
    expect((err as Error).message).toMatch(/budget of 3 is held by 2 pooled \(2 in use, 0 idle\), 1 shared, 0 subscriber/);
    const pending = pool.subscriber({ timeoutMs: 5000 });
    a.release();
    const sub = await pending;
    expect(pool.stats().budget).toMatchObject({ pooled: 1, shared: 1, subscriber: 1 });
    await sub.close();
    b.release();
  });

  it('dedicated() is budgeted and listed; its client throws after close()', async () => {
    const { pool } = testRedisPool({ max: 2 });
    const d = await pool.dedicated();
    expect(await d.client.ping()).toBe('PONG');
    expect(pool.dedicatedConnections()).toHaveLength(1);
    await expect(pool.dedicated({ timeoutMs: 100 })).rejects.toBeInstanceOf(AcquireTimeoutError);
    const client = d.client;
    await d.close();
    expect(() => client.ping()).toThrow(expect.objectContaining({ code: 'LEASE_RELEASED' }));
    const err = (() => {
      try {
        return d.client;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(LeaseReleasedError);
    expect(err).toMatchObject({ leaseId: d.id, releasedAt: 'close()', acquiredAt: expect.stringMatching(/subscriber\.test\.ts:\d+/) });
    expect((err as Error).message).toMatch(new RegExp(`client of dedicated connection #${d.id} after it was closed \\(opened at .*subscriber\\.test\\.ts:\\d+`));
    expect(pool.stats().budget.dedicated).toBe(0);
  });

  it('a closed subscriber throws LEASE_RELEASED naming it and where it was opened', async () => {
    const { pool } = testRedisPool({ max: 2 });
    const sub = await pool.subscriber();
    await sub.close();
    expect(sub.closed).toBe(true);
    const err = await sub.subscribe(unique('ch'), () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseReleasedError);
    expect(err).toMatchObject({ code: 'LEASE_RELEASED', leaseId: sub.id, releasedAt: 'close()', acquiredAt: expect.stringMatching(/subscriber\.test\.ts:\d+/) });
    expect((err as Error).message).toMatch(new RegExp(`subscribe\\(\\) on subscriber #${sub.id} after it was closed`));
    await expect(sub.unsubscribe()).rejects.toBeInstanceOf(LeaseReleasedError);
  });

  it('on() with an event other than "event" is a ConfigError naming it', () => {
    const { pool } = testRedisPool({ max: 2 });
    const on = pool.on.bind(pool) as (event: string, l: () => void) => unknown;
    expect(() => on('message', () => undefined)).toThrow(ConfigError);
    expect(() => on('message', () => undefined)).toThrow(/emits only 'event', not 'message'/);
    const once = pool.once.bind(pool) as (event: string, l: () => void) => unknown;
    expect(() => once('error', () => undefined)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

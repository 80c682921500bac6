import { describe, expect, it } from 'vitest';
import type { EventOf, LifeguardPgPool, LifeguardRedisPool } from '../../src/index.js';
import { waitFor } from '../helpers/events.js';
import { testPgPool, testRedisPool } from '../helpers/pools.js';
import { unique } from '../helpers/unique.js';

/** Collects garbage until `done()` or `rounds` collections, letting finalizers run in between. */
async function collect(rounds: number, done: () => boolean = () => false): Promise<void> {
  for (let i = 0; i < rounds && !done(); i++) {
    globalThis.gc!();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
  }
}

// The usual way: created inside a function, the handle never stored.
async function startRedisSubscriber(pool: LifeguardRedisPool, channel: string, got: string[]): Promise<void> {
  const sub = await pool.subscriber({ tag: 'events worker' });
  await sub.subscribe(channel, (m) => got.push(m));
}
async function startPgListener(pool: LifeguardPgPool, channel: string, got: (string | undefined)[]): Promise<void> {
  const listener = await pool.listener({ tag: 'jobs worker' });
  await listener.listen(channel, (p) => got.push(p));
}

describe('a subscriber or listener with an active subscription lives until close()', () => {
  it('Redis subscriber and pg listener created inside a function: after gc() messages still arrive; an abandoned one is closed and reported', async () => {
    const { pool: redis } = testRedisPool({ max: 4, leakDetection: { captureStacks: 'always' } });
    const { pool: db } = testPgPool({ max: 3, leakDetection: { captureStacks: 'always' } });
    const lost: EventOf<'leak'>[] = [];
    for (const p of [redis, db]) {
      p.on('event', (e) => {
        if (e.type === 'leak' && e.kind === 'subscriber-lost') lost.push(e);
      });
    }
    const ch = unique('ch');
    const gotRedis: string[] = [];
    const gotPg: (string | undefined)[] = [];
    await startRedisSubscriber(redis, ch, gotRedis);
    await startPgListener(db, ch, gotPg);
    // the control: one that unsubscribed everything, then was dropped
    await (async () => {
      const sub = await redis.subscriber({ tag: 'abandoned' });
      const other = unique('ch');
      await sub.subscribe(other, () => undefined);
      await sub.unsubscribe();
    })();
    await (async () => {
      const l = await db.listener({ tag: 'abandoned' });
      await l.listen(unique('ch'), () => undefined);
      await l.unlisten();
    })();

    await collect(200, () => lost.length >= 2);
    // the abandoned ones were collected, closed and reported: the collections did run finalizers
    expect(lost.map((e) => e.lease.tag).sort()).toEqual(['abandoned', 'abandoned']);
    await collect(20);
    expect(lost).toHaveLength(2);

    // the subscribed ones are alive, listed with their channels and site, and deliver
    const [sub] = redis.subscribers();
    expect(sub).toMatchObject({ kind: 'subscriber', channels: [ch], tag: 'events worker' });
    expect(sub!.site).toMatch(/subscriptions-held\.test\.ts:\d+/);
    const [listener] = db.listeners();
    expect(listener).toMatchObject({ kind: 'listener', channels: [ch], tag: 'jobs worker' });
    expect(listener!.site).toMatch(/subscriptions-held\.test\.ts:\d+/);
    await redis.client.publish(ch, 'after gc');
    await db.query('select pg_notify($1, $2)', [ch, 'after gc']);
    await waitFor(() => gotRedis.includes('after gc') && gotPg.includes('after gc'), { message: 'messages after gc()' });
    expect(redis.stats().budget.subscriber).toBe(1);
    expect(db.stats().budget.listener).toBe(1);
    // they live until close()
    await Promise.all([redis.close(), db.close()]);
  });
});

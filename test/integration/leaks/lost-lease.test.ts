import { describe, expect, it } from 'vitest';
import type { EventOf, LifeguardPgPool } from '../../../src/index.js';
import { waitFor } from '../../helpers/events.js';
import { pgConnectionCount } from '../../helpers/server-count.js';
import { testPgPool } from '../../helpers/pools.js';

async function leakOne(pool: LifeguardPgPool): Promise<number> {
  const lease = await pool.acquire({ tag: 'dropped on the floor' }); // LOST-ACQUIRE
  await lease.client.query('select 1');
  return lease.id;
}

describe('a lease dropped without release', () => {
  it('is reclaimed after garbage collection: lost event with the site, active 0, server count equals total', async () => {
    expect(typeof globalThis.gc).toBe('function');
    const { pool, prefix } = testPgPool({ max: 2, leakDetection: { captureStacks: 'always' } });
    const lost: EventOf<'leak'>[] = [];
    pool.on('event', (e) => {
      if (e.type === 'leak' && e.kind === 'lost') lost.push(e);
    });
    const id = await leakOne(pool);
    expect(pool.stats().active).toBe(1);
    await waitFor(
      async () => {
        globalThis.gc!();
        await new Promise((r) => setImmediate(r));
        return lost.length > 0;
      },
      { timeoutMs: 10_000, message: 'the dropped lease was never reported lost' },
    );
    expect(lost[0]!.lease.id).toBe(id);
    expect(lost[0]!.lease.tag).toBe('dropped on the floor');
    expect(lost[0]!.lease.site).toMatch(/lost-lease\.test\.ts:\d+:\d+/);
    expect(pool.stats().active).toBe(0);
    expect(pool.stats().destroyed.lost).toBe(1);
    await waitFor(async () => (await pgConnectionCount(prefix)) === pool.stats().total, { timeoutMs: 5000 });
    // its budget came back: the whole pool is usable
    await Promise.all([pool.query('select 1'), pool.query('select 1')]);
  });
});

// graphile-worker holds a pooled client for LISTEN for its whole life: that is a listener, not a leak.
import { describe, expect, it } from 'vitest';
import type { EventOf } from '../../../src/index.js';
import { nextEvent } from '../../helpers/events.js';
import { testPgPool } from '../../helpers/pools.js';
import { unique } from '../../helpers/unique.js';

describe('a pooled lease that ran LISTEN', () => {
  it('is a listener: no held-too-long, kind listener in leases(), a listener permit; UNLISTEN before reuse', async () => {
    const { pool } = testPgPool({ max: 2, leakDetection: { thresholdMs: 100, captureStacks: 'always' } });
    const channel = unique('jobs');
    const leaks: EventOf<'leak'>[] = [];
    pool.on('event', (e) => void (e.type === 'leak' && leaks.push(e)));
    const listening = await pool.connect();
    await listening.query(`LISTEN "${channel}"`);
    const notified = new Promise<string | undefined>((resolve) => listening.once('notification', (n: { payload?: string }) => resolve(n.payload)));

    // a plain lease acquired later: once it is reported, the older listener would have been too
    const plain = await pool.acquire();
    const leak = await nextEvent(pool, 'leak', (e) => e.kind === 'held-too-long');
    expect(leak.lease.id).toBe(plain.id);
    expect(leaks.map((l) => l.lease.id)).toEqual([plain.id]);

    const kinds = Object.fromEntries(pool.leases().map((l) => [l.id, l.kind]));
    expect(kinds[plain.id]).toBe('lease');
    expect(Object.values(kinds)).toContain('listener');
    expect(pool.stats().budget).toMatchObject({ pooled: 1, listener: 1 });
    plain.release();

    await pool.query(`NOTIFY "${channel}", 'hello'`);
    expect(await notified).toBe('hello');

    const released = nextEvent(pool, 'release');
    listening.release();
    expect((await released).reset).toBe('listening');
    expect(pool.stats().budget).toMatchObject({ listener: 0 });
    // the next users of both connections listen to nothing, and the connection was kept
    const [a, b] = [await pool.acquire(), await pool.acquire()];
    for (const l of [a, b]) {
      const { rows } = await l.client.query('select count(*)::int as n from pg_listening_channels()');
      expect(rows[0].n).toBe(0);
      l.release();
    }
    expect(pool.stats().created).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import { LeaseReleasedError } from '../../../src/index.js';
import { pgConnectionCount } from '../../helpers/server-count.js';
import { waitFor } from '../../helpers/events.js';
import { testPgPool } from '../../helpers/pools.js';
import { unique } from '../../helpers/unique.js';

describe('db.listener()', () => {
  it('delivers a pg_notify payload; close() frees the connection and its permit', async () => {
    const { pool, prefix } = testPgPool({ max: 3 });
    const channel = unique('jobs');
    const listener = await pool.listener();
    const got = new Promise<[string | undefined, string]>((resolve) => void listener.listen(channel, (p, c) => resolve([p, c])));
    await waitFor(() => pool.listeners()[0]?.channels.includes(channel) ?? false);
    await pool.query('select pg_notify($1, $2)', [channel, 'job 42']);
    expect(await got).toEqual(['job 42', channel]);
    expect(pool.stats().budget.listener).toBe(1);
    expect(pool.listeners()[0]!.site).toMatch(/listener\.test\.ts:\d+/);
    expect(await pgConnectionCount(prefix)).toBe(pool.stats().total + 1);
    await listener.close();
    expect(pool.listeners()).toEqual([]);
    expect(pool.stats().budget.listener).toBe(0);
    expect(await pgConnectionCount(prefix)).toBe(pool.stats().total);
  });

  it('counts against max: with max 1 and a listener open, an acquire waits', async () => {
    const { pool } = testPgPool({ max: 1 });
    const listener = await pool.listener();
    await expect(pool.acquire({ timeoutMs: 100 })).rejects.toMatchObject({ code: 'ACQUIRE_TIMEOUT' });
    await listener.close();
    expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
  });

  it('a closed listener throws LEASE_RELEASED naming it and where it was opened', async () => {
    const { pool } = testPgPool({ max: 2 });
    const listener = await pool.listener();
    await listener.close();
    expect(listener.closed).toBe(true);
    const err = await listener.listen(unique('jobs'), () => undefined).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeaseReleasedError);
    expect(err).toMatchObject({ code: 'LEASE_RELEASED', leaseId: listener.id, releasedAt: 'close()', acquiredAt: expect.stringMatching(/listener\.test\.ts:\d+/) });
    expect((err as Error).message).toMatch(new RegExp(`listen\\(\\) on listener #${listener.id} after it was closed`));
    await expect(listener.unlisten()).rejects.toBeInstanceOf(LeaseReleasedError);
  });
});

import { describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/events.js';
import { pgConnectionCount } from '../../helpers/server-count.js';
import { testPgPool } from '../../helpers/pools.js';

describe('withConnection under load', () => {
  it('settles 1,000 calls (every third throwing) from 50 callers on max 5, and the server agrees with stats()', async () => {
    const { pool, prefix } = testPgPool({ max: 5 });
    const destroyed: string[] = [];
    pool.on('event', (e) => {
      if (e.type === 'destroy') destroyed.push(e.reason);
    });
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peak = Math.max(peak, await pgConnectionCount(prefix));
      }
    })();

    let next = 0;
    let ok = 0;
    let failed = 0;
    const worker = async (): Promise<void> => {
      while (next < 1000) {
        const i = next++;
        try {
          const n = await pool.withConnection(async (client) => {
            const res = await client.query('select $1::int as n', [i]);
            if (i % 3 === 0) throw new Error(`boom ${i}`);
            return res.rows[0].n as number;
          });
          expect(n).toBe(i);
          ok++;
        } catch (err) {
          expect((err as Error).message).toBe(`boom ${i}`);
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: 50 }, worker));
    sampling = false;
    await sampler;

    expect(ok + failed).toBe(1000);
    expect(failed).toBe(334);
    const stats = pool.stats();
    expect(stats.active).toBe(0);
    expect(stats.pending).toBe(0);
    expect(stats.acquired).toBe(1000);
    expect(stats.released).toBe(1000);
    expect(peak).toBeLessThanOrEqual(5);
    expect(stats.total).toBeLessThanOrEqual(5);
    // A closed client's backend leaves pg_stat_activity a moment after the socket closes.
    let seen = -1;
    await waitFor(async () => (seen = await pgConnectionCount(prefix)) === pool.stats().total).catch(() => undefined);
    expect(seen, `destroyed: ${destroyed.join(', ') || 'none'}`).toBe(pool.stats().total);
  });
});

import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventOf } from '../../src/index.js';
import { DATABASE_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/events.js';
import { recordingLogger, testPgPool, testRedisPool } from '../helpers/pools.js';
import { EphemeralRedis } from '../helpers/redis-server.js';
import { unique } from '../helpers/unique.js';

let server: EphemeralRedis | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

/** `callers` loops of `perCaller` calls each; resolves with how many failed. */
async function load(callers: number, perCaller: number, call: () => Promise<unknown>): Promise<{ ok: number; failed: unknown[] }> {
  let ok = 0;
  const failed: unknown[] = [];
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = 0; i < perCaller; i++) {
        try {
          await call();
          ok++;
        } catch (err) {
          failed.push(err);
        }
      }
    }),
  );
  return { ok, failed };
}

describe('a server connection limit below max is a ceiling, not an outage', () => {
  it('PostgreSQL role with CONNECTION LIMIT 2, pool max 5, 10 callers × 200 queries: all succeed, the breaker never opens, stats show the ceiling', async () => {
    const role = unique('lim');
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    try {
      await admin.query(`create role ${role} login connection limit 2`);
      const u = new URL(DATABASE_URL);
      u.username = role;
      const logger = recordingLogger();
      const { pool } = testPgPool({ connectionString: u.toString(), max: 5, logger });
      const circuit: EventOf<'circuit'>[] = [];
      const ceiling: EventOf<'ceiling'>[] = [];
      pool.on('event', (e) => {
        if (e.type === 'circuit') circuit.push(e);
        if (e.type === 'ceiling') ceiling.push(e);
      });
      const { ok, failed } = await load(10, 200, () => pool.query('select 1'));
      const s = pool.stats();
      console.log(`pg role limit 2, max 5: ${ok} ok, ${failed.length} failed, breaker ${s.circuit}, ceiling ${s.ceiling}, opened ${s.created}, refused ${s.connectFailures}`);
      expect(failed).toEqual([]);
      expect(ok).toBe(2000);
      expect(circuit).toEqual([]);
      expect(s.circuit).toBe('closed');
      expect(s.ceiling).toBe(2);
      expect(s.total).toBe(2);
      expect(ceiling.at(-1)).toMatchObject({ ceiling: 2, max: 5, detail: expect.stringMatching(/too many connections for role/) });
      expect(logger.lines.filter((l) => /connection limit/.test(l.message))).toHaveLength(1);

      // room returns: a probe raises the ceiling while callers keep asking
      await admin.query(`alter role ${role} connection limit 4`);
      let stop = false;
      const busy = Promise.all(
        Array.from({ length: 10 }, async () => {
          while (!stop) await pool.query('select pg_sleep(0.002)');
        }),
      );
      await waitFor(() => (pool.stats().ceiling ?? 5) > 2, { timeoutMs: 10_000, message: 'the ceiling was raised' });
      stop = true;
      await busy;
      console.log(`pg role limit raised to 4: ceiling now ${pool.stats().ceiling}, total ${pool.stats().total}`);
      await pool.close();
    } finally {
      await admin.query(`drop role if exists ${role}`).catch(() => undefined);
      await admin.end();
    }
  });

  it('Redis maxclients on an own redis-server, pool max 6, 10 callers × 200 commands: all succeed, the breaker never opens, stats show the ceiling', async () => {
    // room for the shared client and two pooled connections
    server = await EphemeralRedis.start({ args: ['--maxclients', '3'] });
    const { pool } = testRedisPool({ url: server.url, max: 6 });
    await pool.client.ping();
    const circuit: EventOf<'circuit'>[] = [];
    pool.on('event', (e) => {
      if (e.type === 'circuit') circuit.push(e);
    });
    const key = unique('k');
    const { ok, failed } = await load(10, 200, () => pool.withConnection((r) => r.incr(key)));
    const s = pool.stats();
    console.log(`redis maxclients 3, max 6: ${ok} ok, ${failed.length} failed, breaker ${s.circuit}, ceiling ${s.ceiling}, opened ${s.created}, refused ${s.connectFailures}`);
    expect(failed).toEqual([]);
    expect(ok).toBe(2000);
    expect(await pool.client.get(key)).toBe('2000');
    expect(circuit).toEqual([]);
    expect(s.ceiling).toBe(2);
    await pool.close();
  });
});

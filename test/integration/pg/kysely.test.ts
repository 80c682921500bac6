import { Kysely, PostgresDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { testPgPool } from '../../helpers/pools.js';

describe("Kysely's PostgresDialect on a lifeguard pool", () => {
  it('runs queries, and a transaction stays on one connection while other work runs on the pool', async () => {
    const { pool } = testPgPool({ max: 3 });
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });

    const one = await sql<{ n: number }>`select 1::int as n`.execute(db);
    expect(one.rows[0]!.n).toBe(1);

    const { txPids, otherPids } = await db.transaction().execute(async (trx) => {
      const txPids: number[] = [];
      const otherPids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const [inTx, outside] = await Promise.all([
          sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx),
          sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db),
        ]);
        txPids.push(inTx.rows[0]!.pid);
        otherPids.push(outside.rows[0]!.pid);
      }
      const status = await sql<{ now: Date }>`select now() as now`.execute(trx);
      expect(status.rows).toHaveLength(1);
      return { txPids, otherPids };
    });
    expect(new Set(txPids).size).toBe(1);
    expect(otherPids).not.toContain(txPids[0]);
    expect(pool.stats().active).toBe(0);

    await db.destroy();
    expect(pool.ending).toBe(true);
  });
});

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventOf, LifeguardPgPool } from '../../src/index.js';
import { DATABASE_URL } from '../helpers/env.js';
import { waitFor } from '../helpers/events.js';
import { PgCluster, pgBinDir } from '../helpers/pg-cluster.js';
import { testPgPool } from '../helpers/pools.js';
import { pgConnectionCount } from '../helpers/server-count.js';

interface Call {
  start: number;
  end: number;
  ok: boolean;
  error?: string;
}

/** 50 callers running `select 1` in closed loops until stop(); every call recorded. */
function runLoad(pool: LifeguardPgPool, callers = 50): { calls: Call[]; stop(): Promise<void> } {
  const calls: Call[] = [];
  let stopped = false;
  const loops = Array.from({ length: callers }, async () => {
    while (!stopped) {
      const c: Call = { start: performance.now(), end: 0, ok: false };
      try {
        await pool.query('select 1');
        c.ok = true;
      } catch (err) {
        c.error = (err as Error).message;
      }
      c.end = performance.now();
      calls.push(c);
    }
  });
  return {
    calls,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

/** What a fault cost: failed calls, whether they were all in flight when the first one failed, time to the first success after `backAt`. */
function report(label: string, calls: Call[], faultAt: number, backAt: number, pool: LifeguardPgPool) {
  const after = calls.filter((c) => c.end >= faultAt);
  const failed = after.filter((c) => !c.ok);
  const firstFailureAt = Math.min(...failed.map((c) => c.end));
  const firstSuccess = after.filter((c) => c.ok && c.end > (failed.length > 0 ? firstFailureAt : faultAt)).sort((a, b) => a.end - b.end)[0];
  const inFlightAtFault = calls.filter((c) => c.start <= firstFailureAt && c.end >= firstFailureAt).length;
  const s = pool.stats();
  const r = {
    failed: failed.length,
    failedStartedAfterFirstFailure: failed.filter((c) => c.start > firstFailureAt).length,
    inFlightAtFault,
    firstSuccessAfterBackMs: firstSuccess === undefined ? Infinity : Math.round(firstSuccess.end - backAt),
    outageMs: Math.round(backAt - faultAt),
    breaker: s.circuit,
    opened: s.created,
    connectFailures: s.connectFailures,
    errors: [...new Set(failed.map((c) => c.error))],
  };
  console.log(`${label}: ${JSON.stringify(r)}`);
  return r;
}

const bin = pgBinDir();

describe.skipIf(bin === undefined)('an own PostgreSQL restarted under 50 callers (skipped: no initdb/pg_ctl under /usr/lib/postgresql/*/bin)', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await PgCluster.start();
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  for (const mode of ['fast', 'immediate'] as const) {
    it(`pg_ctl restart -m ${mode}: the breaker stays closed, only calls in flight fail, first success within 1 s of the server being back`, async () => {
      const { pool } = testPgPool({ connectionString: cluster.url, max: 10 });
      const circuit: EventOf<'circuit'>[] = [];
      pool.on('event', (e) => {
        if (e.type === 'circuit') circuit.push(e);
      });
      const load = runLoad(pool);
      await waitFor(() => load.calls.filter((c) => c.ok).length > 500, { message: 'load under way' });
      const faultAt = performance.now();
      await cluster.restart(mode);
      const backAt = performance.now();
      await waitFor(() => load.calls.some((c) => c.ok && c.end > backAt), { timeoutMs: 5000, message: 'a success after the restart' });
      await new Promise((r) => setTimeout(r, 300)); // a little steady state after recovery
      await load.stop();
      const r = report(`restart -m ${mode}`, load.calls, faultAt, backAt, pool);
      expect(circuit).toEqual([]);
      expect(r.breaker).toBe('closed');
      expect(r.failed).toBeLessThanOrEqual(10); // at most one per connection: the queries running at the fault
      expect(r.failedStartedAfterFirstFailure).toBe(0);
      expect(r.firstSuccessAfterBackMs).toBeLessThan(1000);
      await pool.close();
    }, 30_000);
  }
});

describe('idle backends terminated on a healthy server under 50 callers', () => {
  it('5 of 10 backends terminated: the breaker stays closed, only calls in flight fail, the pool refills', async () => {
    const { pool, prefix } = testPgPool({ max: 10 });
    const circuit: EventOf<'circuit'>[] = [];
    pool.on('event', (e) => {
      if (e.type === 'circuit') circuit.push(e);
    });
    const load = runLoad(pool);
    await waitFor(() => pool.stats().total === 10 && load.calls.filter((c) => c.ok).length > 500, { message: 'load under way' });
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    const faultAt = performance.now();
    let killed: number;
    try {
      const { rows } = await admin.query<{ n: number }>(
        `select count(*) filter (where t)::int as n from (
           select pg_terminate_backend(pid) as t from pg_stat_activity
            where starts_with(application_name, $1) order by (state = 'idle') desc limit 5) k`,
        [prefix],
      );
      killed = rows[0]!.n;
    } finally {
      await admin.end();
    }
    const backAt = performance.now();
    expect(killed).toBe(5);
    await waitFor(() => pool.stats().destroyed.error >= 5, { message: 'the pool saw the 5 go' });
    await waitFor(() => load.calls.some((c) => c.ok && c.end > backAt + 200), { message: 'calls keep succeeding' });
    await load.stop();
    const r = report('5 of 10 backends terminated', load.calls, faultAt, backAt, pool);
    expect(circuit).toEqual([]);
    expect(r.failed).toBeLessThanOrEqual(5);
    expect(r.failedStartedAfterFirstFailure).toBe(0);
    expect(r.firstSuccessAfterBackMs).toBeLessThan(1000);
    await waitFor(async () => (await pgConnectionCount(prefix)) === pool.stats().total, { message: 'server count equals stats().total' });
  }, 30_000);
});

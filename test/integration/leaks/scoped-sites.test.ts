// Scoped calls (query, withConnection, withTransaction) capture nothing up front in any
// capture mode; a report that needs their site wakes them to name the awaiting line.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { AcquireTimeoutError, type EventOf } from '../../../src/index.js';
import { DATABASE_URL } from '../../helpers/env.js';
import { nextEvent, waitFor } from '../../helpers/events.js';
import { testPgPool, testRedisPool } from '../../helpers/pools.js';
import { unique } from '../../helpers/unique.js';

const file = new URL(import.meta.url).pathname;
const source = readFileSync(file, 'utf8').split('\n');
/** `test/…/scoped-sites.test.ts:LINE:` of the line carrying `marker`. */
function at(marker: string): RegExp {
  const line = source.findIndex((l) => l.includes(`// ${marker}`) && !l.includes('at(')) + 1;
  expect(line).toBeGreaterThan(0);
  return new RegExp(`^test/integration/leaks/scoped-sites\\.test\\.ts:${line}:\\d+$`);
}

// A query that blocks on an advisory lock held by another connection until the test lets go.
let locker: pg.Client | undefined;
async function holdLock(key: number): Promise<() => Promise<void>> {
  locker = new pg.Client({ connectionString: DATABASE_URL });
  await locker.connect();
  await locker.query('select pg_advisory_lock($1)', [key]);
  const c = locker;
  return async () => {
    await c.query('select pg_advisory_unlock($1)', [key]);
  };
}
afterEach(async () => {
  await locker?.end();
  locker = undefined;
});
const lockKey = (): number => Math.floor(Math.random() * 2 ** 30);

// Production settings: no acquire is sampled, so nothing is captured eagerly.
const production = { captureStacks: 'sampled', sampleRate: 0, thresholdMs: 100 } as const;

describe('scoped calls are attributed lazily', () => {
  it('a slow awaited pool.query is reported held-too-long at the awaiting line with sampleRate 0', async () => {
    const { pool } = testPgPool({ max: 2, leakDetection: production });
    const key = lockKey();
    const unlock = await holdLock(key);
    const leak = nextEvent(pool, 'leak');
    const run = async (): Promise<void> => {
      await pool.query('select pg_advisory_lock($1), pg_advisory_unlock($1)', [key]); // SLOW-QUERY
    };
    const done = run();
    const e = await leak;
    expect(e.kind).toBe('held-too-long');
    expect(e.lease.site).toMatch(at('SLOW-QUERY'));
    expect(e.lease.stack?.split('\n')[0]).toContain('scoped-sites.test.ts');
    await unlock();
    await done;
  });

  it('withConnection, withTransaction and Redis withConnection name their awaiting lines too', async () => {
    const { pool } = testPgPool({ max: 3, leakDetection: production });
    const { pool: redis } = testRedisPool({ max: 3, leakDetection: production });
    const leaks: EventOf<'leak'>[] = [];
    pool.on('event', (e) => void (e.type === 'leak' && leaks.push(e)));
    redis.on('event', (e) => void (e.type === 'leak' && leaks.push(e)));
    let letGo!: () => void;
    const gate = new Promise<void>((r) => (letGo = r));
    const list = unique('q');
    const a = (async () => {
      await pool.withConnection(() => gate); // WITH-CONNECTION
    })();
    const b = (async () => {
      // the async frame is the line where the await starts
      await pool.withTransaction(async (c) => { // WITH-TRANSACTION
        await c.query('select 1');
        await gate;
      });
    })();
    const c = (async () => {
      await redis.withConnection((r) => r.blpop(list, 0)); // REDIS-WITH-CONNECTION
    })();
    await waitFor(() => leaks.length === 3, { timeoutMs: 5000 });
    const sites = leaks.map((l) => l.lease.site);
    expect(sites.find((s) => at('WITH-CONNECTION').test(s ?? ''))).toBeDefined();
    expect(sites.find((s) => at('WITH-TRANSACTION').test(s ?? ''))).toBeDefined();
    expect(sites.find((s) => at('REDIS-WITH-CONNECTION').test(s ?? ''))).toBeDefined();
    letGo();
    await redis.client.lpush(list, 'x');
    await Promise.all([a, b, c]);
  });

  it('ACQUIRE_TIMEOUT groups scoped holders by the lines that await them', async () => {
    const { pool } = testPgPool({ max: 3, acquireTimeoutMs: 300, leakDetection: production });
    let letGo!: () => void;
    const gate = new Promise<void>((r) => (letGo = r));
    const hold = (): Promise<void> => pool.withConnection(() => gate);
    const holders = [
      (async () => {
        await hold(); // HOLDER-A
      })(),
      (async () => {
        await hold(); // HOLDER-A2
      })(),
      (async () => {
        await pool.query('select pg_sleep(30)'); // HOLDER-B
      })().catch(() => undefined),
    ];
    await waitFor(() => pool.stats().active === 3);
    const err = (await pool.acquire().catch((e: unknown) => e)) as AcquireTimeoutError;
    expect(err).toBeInstanceOf(AcquireTimeoutError);
    const line = (m: string): string => at(m).source.slice(1).split(':')[1]!;
    expect(err.message).toContain(`1× test/integration/leaks/scoped-sites.test.ts:${line('HOLDER-A')}:`);
    expect(err.message).toContain(`1× test/integration/leaks/scoped-sites.test.ts:${line('HOLDER-A2')}:`);
    expect(err.message).toContain(`1× test/integration/leaks/scoped-sites.test.ts:${line('HOLDER-B')}:`);
    expect(err.message).not.toContain('unrecorded');
    letGo();
    // end the sleeping query from the server side: its connection is closed, its caller gets the error
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    await c.query("select pg_cancel_backend(pid) from pg_stat_activity where query = 'select pg_sleep(30)'");
    await c.end();
    await Promise.all(holders);
  });

  it('leases() has the site of a scoped call running longer than a sweep period, without being asked first', async () => {
    const { pool } = testPgPool({ max: 2, leakDetection: { ...production, thresholdMs: 60_000 } });
    let letGo!: () => void;
    const gate = new Promise<void>((r) => (letGo = r));
    const running = (async () => {
      await pool.withConnection(() => gate); // LONG-RUNNING
    })();
    await waitFor(() => pool.leases()[0]?.site !== undefined, { timeoutMs: 3000 });
    expect(pool.leases()[0]!.site).toMatch(at('LONG-RUNNING'));
    letGo();
    await running;
  });

  it('a call nobody awaits says so; capture off and unsampled leases say so', async () => {
    const { pool } = testPgPool({ max: 3, leakDetection: production });
    let letGo!: () => void;
    const gate = new Promise<void>((r) => (letGo = r));
    const results: unknown[] = [];
    void pool.withConnection(() => gate).then((v) => results.push(v));
    const lease = await pool.acquire(); // sampleRate 0: not sampled
    expect(pool.leases().map((l) => l.noSite).sort()).toEqual(['not-sampled', 'pending']);
    await waitFor(() => pool.leases().some((l) => l.noSite === 'not-awaited'));
    lease.release();
    letGo();
    await waitFor(() => results.length === 1);

    const { pool: off } = testPgPool({ max: 1, leakDetection: { captureStacks: false } });
    const l2 = await off.acquire();
    expect(off.leases()[0]!.noSite).toBe('capture-off');
    l2.release();
  });
});

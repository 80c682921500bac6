import { readFileSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { AcquireTimeoutError } from '../../../src/index.js';
import { DATABASE_URL } from '../../helpers/env.js';
import { nextEvent, waitFor } from '../../helpers/events.js';
import { testPgPool } from '../../helpers/pools.js';

const FILE = 'test/integration/orm/drizzle-sites.test.ts';
const source = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
/** 1-based line of this file holding `marker`. */
const lineOf = (marker: string): number => source.findIndex((l) => l.includes(`// ${marker}`) && !l.includes('lineOf(')) + 1;
const at = (marker: string): string => `${FILE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${lineOf(marker)}:\\d+`;

// a plain pg client outside lifeguard, holding an advisory lock that blocks a query on the pool
let locker: pg.Client | undefined;
afterEach(async () => {
  await locker?.end();
  locker = undefined;
});

describe("Drizzle's node-postgres driver on a lifeguard pool: reports name the application's line, not Drizzle's session", () => {
  it('a transaction held longer than thresholdMs is reported at the line that started it', async () => {
    const { pool } = testPgPool({ max: 2, leakDetection: { thresholdMs: 100 } });
    const db = drizzle({ client: pool });
    const heldTooLong = nextEvent(pool, 'leak', (e) => e.kind === 'held-too-long');

    // the transaction stays open until lifeguard has reported it
    const leak = await db.transaction(async (tx) => { // DRIZZLE-TX
      await tx.execute(sql`select 1`);
      return heldTooLong;
    });

    expect(leak.lease.site).toMatch(new RegExp(`^${at('DRIZZLE-TX')}$`));
    expect(leak.lease.ageMs).toBeGreaterThanOrEqual(100);
    expect(pool.stats().active).toBe(0);
  });

  it('ACQUIRE_TIMEOUT lists the holders grouped by application line: transactions, and a query Drizzle runs through pool.query', async () => {
    const { pool } = testPgPool({ max: 3, acquireTimeoutMs: 300 });
    const db = drizzle({ client: pool });
    const lockKey = Math.floor(Math.random() * 2 ** 31);
    locker = new pg.Client({ connectionString: DATABASE_URL });
    await locker.connect();
    await locker.query('select pg_advisory_lock($1)', [lockKey]);

    let started = 0;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const reportJob = async (): Promise<void> => {
      await db.transaction(async (tx) => { // HOLDER-A
        await tx.execute(sql`select 1`);
        started++;
        await done;
      });
    };
    // one scoped pool.query that waits on the advisory lock: held, but not a transaction
    const syncJob = async (): Promise<void> => {
      await db.execute(sql`select pg_advisory_lock(${lockKey}), pg_advisory_unlock(${lockKey})`); // HOLDER-B
    };
    const holders = [reportJob(), reportJob(), syncJob()];
    try {
      await waitFor(() => started === 2 && pool.stats().active === 3, { message: 'the three holders did not start' });
      // Drizzle wraps the pool's error in a DrizzleQueryError; the pool's is its cause
      const thrown = (await db.execute(sql`select 1`).catch((e: unknown) => e)) as Error;
      const err = (thrown.cause ?? thrown) as AcquireTimeoutError;
      expect(err.code).toBe('ACQUIRE_TIMEOUT');
      expect(err.message).toMatch(new RegExp(`longest holders: .*2× ${at('HOLDER-A')}`));
      expect(err.message).toMatch(new RegExp(`longest holders: .*1× ${at('HOLDER-B')}`));
      expect(err.message).not.toContain('node_modules');
    } finally {
      finish();
      await locker.query('select pg_advisory_unlock($1)', [lockKey]);
      await Promise.all(holders);
    }
  });
});

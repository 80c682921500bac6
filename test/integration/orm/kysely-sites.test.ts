import { readFileSync } from 'node:fs';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { AcquireTimeoutError } from '../../../src/index.js';
import { nextEvent, waitFor } from '../../helpers/events.js';
import { testPgPool } from '../../helpers/pools.js';

const FILE = 'test/integration/orm/kysely-sites.test.ts';
const source = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
/** 1-based line of this file holding `marker`. */
const lineOf = (marker: string): number => source.findIndex((l) => l.includes(`// ${marker}`) && !l.includes('lineOf(')) + 1;
const at = (marker: string): string => `${FILE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${lineOf(marker)}:\\d+`;

describe("Kysely's PostgresDialect on a lifeguard pool: reports name the application's line, not Kysely's driver", () => {
  it('a transaction held longer than thresholdMs is reported at the line that started it', async () => {
    const { pool } = testPgPool({ max: 2, leakDetection: { thresholdMs: 100 } });
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });
    const heldTooLong = nextEvent(pool, 'leak', (e) => e.kind === 'held-too-long');

    // the transaction stays open until lifeguard has reported it
    const leak = await db.transaction().execute(async (trx) => { // KYSELY-TX
      await sql`select 1`.execute(trx);
      return heldTooLong;
    });

    expect(leak.lease.site).toMatch(new RegExp(`^${at('KYSELY-TX')}$`));
    expect(leak.lease.ageMs).toBeGreaterThanOrEqual(100);
    expect(pool.stats().active).toBe(0);
  });

  it('ACQUIRE_TIMEOUT lists the holders grouped by the application lines that started their transactions', async () => {
    const { pool } = testPgPool({ max: 3, acquireTimeoutMs: 300 });
    const db = new Kysely<Record<string, never>>({ dialect: new PostgresDialect({ pool }) });
    let started = 0;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const hold = async (trx: Kysely<Record<string, never>>): Promise<void> => {
      await sql`select 1`.execute(trx);
      started++;
      await done;
    };
    const reportJob = async (): Promise<void> => {
      await db.transaction().execute(hold); // HOLDER-A
    };
    const syncJob = async (): Promise<void> => {
      await db.transaction().execute(hold); // HOLDER-B
    };
    const holders = [reportJob(), reportJob(), syncJob()];
    try {
      await waitFor(() => started === 3, { message: 'the three transactions did not start' });
      const err = (await sql`select 1`.execute(db).catch((e: unknown) => e)) as AcquireTimeoutError;
      expect(err.code).toBe('ACQUIRE_TIMEOUT');
      expect(err.message).toMatch(new RegExp(`longest holders: .*2× ${at('HOLDER-A')}`));
      expect(err.message).toMatch(new RegExp(`longest holders: .*1× ${at('HOLDER-B')}`));
      expect(err.message).not.toContain('node_modules');
    } finally {
      finish();
      await Promise.all(holders);
    }
  });
});

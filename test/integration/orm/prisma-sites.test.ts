import { readFileSync } from 'node:fs';
import { PrismaPg } from '@prisma/adapter-pg';
import { describe, expect, it } from 'vitest';
import type { AcquireTimeoutError, LifeguardPgPool } from '../../../src/index.js';
import { nextEvent, waitFor } from '../../helpers/events.js';
import { testPgPool } from '../../helpers/pools.js';
import { PrismaClient } from '../../fixtures/prisma-app/generated/client.js';

const FILE = 'test/integration/orm/prisma-sites.test.ts';
const source = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
/** 1-based line of this file holding `marker`. */
const lineOf = (marker: string): number => source.findIndex((l) => l.includes(`// ${marker}`) && !l.includes('lineOf(')) + 1;
const at = (marker: string): string => `${FILE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:${lineOf(marker)}:\\d+`;

/** A Prisma client whose driver adapter runs on the lifeguard pool (PrismaPg takes a pg.Pool). */
function prismaOn(pool: LifeguardPgPool): PrismaClient {
  return new PrismaClient({ adapter: new PrismaPg(pool) });
}

describe("Prisma's @prisma/adapter-pg on a lifeguard pool: reports name the application's line, not Prisma's runtime", () => {
  it('an interactive transaction held longer than thresholdMs is reported at the line that started it', async () => {
    const { pool } = testPgPool({ max: 2, leakDetection: { thresholdMs: 100 } });
    const prisma = prismaOn(pool);
    try {
      const heldTooLong = nextEvent(pool, 'leak', (e) => e.kind === 'held-too-long');

      // the transaction stays open until lifeguard has reported it
      const leak = await prisma.$transaction(async (tx) => { // PRISMA-TX
        await tx.$queryRaw`select 1`;
        return heldTooLong;
      });

      expect(leak.lease.site).toMatch(new RegExp(`^${at('PRISMA-TX')}$`));
      expect(leak.lease.ageMs).toBeGreaterThanOrEqual(100);
    } finally {
      await prisma.$disconnect();
    }
  });

  it('ACQUIRE_TIMEOUT lists the holders grouped by the application lines that started their transactions', async () => {
    const { pool } = testPgPool({ max: 3, acquireTimeoutMs: 300 });
    const prisma = prismaOn(pool);
    let started = 0;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const hold = async (tx: Parameters<Parameters<PrismaClient['$transaction']>[0]>[0]): Promise<void> => {
      await tx.$queryRaw`select 1`;
      started++;
      await done;
    };
    // Prisma's own transaction timeout (5 s) must not end the holders first
    const reportJob = async (): Promise<void> => {
      await prisma.$transaction(hold, { timeout: 30_000, maxWait: 30_000 }); // HOLDER-A
    };
    const syncJob = async (): Promise<void> => {
      await prisma.$transaction(hold, { timeout: 30_000, maxWait: 30_000 }); // HOLDER-B
    };
    const holders = [reportJob(), reportJob(), syncJob()];
    try {
      await waitFor(() => started === 3, { message: 'the three transactions did not start' });
      const thrown = (await pool.query('select 1').catch((e: unknown) => e)) as AcquireTimeoutError;
      expect(thrown.code).toBe('ACQUIRE_TIMEOUT');
      expect(thrown.message).toMatch(new RegExp(`longest holders: .*2× ${at('HOLDER-A')}`));
      expect(thrown.message).toMatch(new RegExp(`longest holders: .*1× ${at('HOLDER-B')}`));
      expect(thrown.message).not.toContain('node_modules');
    } finally {
      finish();
      await Promise.all(holders);
      await prisma.$disconnect();
    }
  });
});

/**
 * Issue 17: PostgreSQL through PgBouncer in transaction mode (a PgBouncer started for
 * this file on a free port, in front of the local PostgreSQL). The pg suite's
 * transaction and leak tests pass through it, with pools in `pgbouncer: 'transaction'`
 * mode; what breaks there is refused with PGBOUNCER_UNSUPPORTED.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, PgBouncerUnsupportedError } from '../../src/index.js';
import { closeAfterTest, recordingLogger } from '../helpers/pools.js';
import { EphemeralPgBouncer, pgbouncerMissing } from '../helpers/pgbouncer.js';
import { unique } from '../helpers/unique.js';

const missing = pgbouncerMissing();
if (missing !== undefined) console.warn(`SKIPPED test/fault/pgbouncer.test.ts: ${missing} (.ci/run installs Debian's pgbouncer)`);

let bouncer: EphemeralPgBouncer | undefined;
beforeAll(async () => {
  if (missing === undefined) bouncer = await EphemeralPgBouncer.start();
}, 30_000);
afterAll(async () => {
  await bouncer?.stop();
});

function bouncerPool(extra: Parameters<typeof createPgPool>[0] = {}) {
  return closeAfterTest(createPgPool({ connectionString: bouncer!.url, name: unique('b'), app: unique('lgb'), logger: recordingLogger(), max: 4, pgbouncer: 'transaction', ...extra }));
}

describe.skipIf(missing !== undefined)('PgBouncer transaction mode', () => {
  it('runs queries and transactions through the bouncer', async () => {
    const pool = bouncerPool();
    expect((await pool.query('select 1 as n')).rows).toEqual([{ n: 1 }]);
    const n = await pool.withTransaction(async (c) => {
      await c.query('SET LOCAL statement_timeout = 5000');
      await c.query("SET application_name = 'inside-a-transaction'"); // inside a transaction: allowed
      return (await c.query('select 2 as n')).rows[0].n as number;
    });
    expect(n).toBe(2);
    expect((await pool.query({ text: 'select $1::int as n', values: [3] })).rows).toEqual([{ n: 3 }]);
  });

  it('refuses what breaks there with PGBOUNCER_UNSUPPORTED, sending nothing', async () => {
    const pool = bouncerPool();
    const refused = async (p: Promise<unknown>, feature: string): Promise<void> => {
      const err = await p.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PgBouncerUnsupportedError);
      expect(err).toMatchObject({ code: 'PGBOUNCER_UNSUPPORTED', feature, pool: pool.name });
    };
    await refused(pool.listener(), 'listen');
    await refused(pool.query('LISTEN jobs'), 'listen');
    await refused(pool.query('SET statement_timeout = 1000'), 'session-set');
    await refused(pool.query('/* why */ set search_path to public'), 'session-set');
    await refused(pool.query({ name: 'by-name', text: 'select 1' }), 'prepared-statement');
    await refused(pool.query('PREPARE p AS select 1'), 'prepared-statement');
    await refused(pool.query('select pg_advisory_lock(42)'), 'advisory-lock');
    // on a checked-out client too, and the callback form
    const client = await pool.connect();
    try {
      await refused(client.query('SET TIME ZONE UTC'), 'session-set');
      const cbErr = await new Promise((resolve) => client.query('LISTEN x', (e: Error | null) => resolve(e)));
      expect(cbErr).toMatchObject({ code: 'PGBOUNCER_UNSUPPORTED' });
      expect((await client.query('select pg_advisory_xact_lock(42), 1 as n')).rows[0].n).toBe(1);
    } finally {
      client.release();
    }
    // the message says what to do instead
    await expect(pool.query('SET statement_timeout = 1000')).rejects.toThrow(/SET LOCAL inside withTransaction/);
    // nothing was refused for a pool without the option
    const direct = closeAfterTest(createPgPool({ connectionString: bouncer!.url, name: unique('d'), logger: recordingLogger(), max: 2 }));
    await direct.query('SET statement_timeout = 1000');
  });

  it('allows named prepared statements when the bouncer supports them (preparedStatements: true)', async () => {
    const pool = bouncerPool({ pgbouncer: { mode: 'transaction', preparedStatements: true } });
    // PgBouncer 1.18 here has no prepared-statement support: the server may answer with an error, but lifeguard sends it
    const r = await pool.query({ name: unique('ps'), text: 'select 1 as n' }).then(
      (x) => x.rows,
      (e: unknown) => e,
    );
    expect(r).not.toMatchObject({ code: 'PGBOUNCER_UNSUPPORTED' });
  });

  it("the pg suite's transaction and leak tests pass through it", async () => {
    const files = [
      'test/integration/pg/transaction.test.ts',
      'test/integration/leaks/lost-lease.test.ts',
      'test/integration/leaks/nested-deadlock.test.ts',
      'test/integration/leaks/timeout-holders.test.ts',
    ];
    const child = spawn(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', '--project', 'integration', ...files], {
      env: { ...process.env, DATABASE_URL: bouncer!.url, LIFEGUARD_TEST_PGBOUNCER: 'transaction', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const summary = /Tests\s+(.*)/.exec(out)?.[1] ?? '';
    console.info(`through PgBouncer (transaction mode): ${files.length} files, tests ${summary.trim()}`);
    expect(code, out.slice(-3000)).toBe(0);
    expect(summary).toMatch(/passed/);
    expect(summary).not.toMatch(/failed/);
  }, 60_000);
});

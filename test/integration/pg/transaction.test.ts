import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/index.js';
import { testPgPool } from '../../helpers/pools.js';
import { pgTerminate } from '../../helpers/server-count.js';
import { unique } from '../../helpers/unique.js';
import pg from 'pg';
import { DATABASE_URL } from '../../helpers/env.js';

let table: string;
const admin = new pg.Client({ connectionString: DATABASE_URL });

beforeEach(async () => {
  table = unique('tx');
  if (!(admin as unknown as { _connected: boolean })._connected) await admin.connect();
  await admin.query(`create table ${table} (id int primary key)`);
});
afterEach(async () => {
  await admin.query(`drop table if exists ${table}`);
});

describe('withTransaction', () => {
  it('commits on success', async () => {
    const { pool } = testPgPool({ max: 2 });
    const out = await pool.withTransaction(async (c) => {
      await c.query(`insert into ${table} values (1)`);
      return 'done';
    });
    expect(out).toBe('done');
    expect((await admin.query(`select count(*)::int as n from ${table}`)).rows[0].n).toBe(1);
  });

  it('rolls back when the callback throws, and rethrows its error', async () => {
    const { pool } = testPgPool({ max: 2 });
    await expect(
      pool.withTransaction(async (c) => {
        await c.query(`insert into ${table} values (1)`);
        throw new Error('nope');
      }),
    ).rejects.toThrow('nope');
    expect((await admin.query(`select count(*)::int as n from ${table}`)).rows[0].n).toBe(0);
    expect(pool.stats().active).toBe(0);
    // the connection was clean after ROLLBACK, so it went back to the pool
    expect(pool.stats().destroyed.dirty).toBe(0);
  });

  it('when ROLLBACK itself fails, the caller gets its own error and the connection is closed', async () => {
    const { pool, prefix } = testPgPool({ max: 1, healthCheck: false });
    const err = await pool
      .withTransaction(async (c) => {
        await c.query(`insert into ${table} values (3)`);
        await pgTerminate(prefix); // the server ends the session: ROLLBACK cannot run
        throw new Error('business rule failed');
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('business rule failed');
    expect(pool.stats().active).toBe(0);
    expect(pool.stats().destroyed['released-with-error'] + pool.stats().destroyed.error).toBe(1);
    expect((await admin.query(`select count(*)::int as n from ${table}`)).rows[0].n).toBe(0);
    expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
  });

  it('applies isolation level and read-only', async () => {
    const { pool } = testPgPool({ max: 1 });
    const level = await pool.withTransaction(
      async (c) => (await c.query('show transaction_isolation')).rows[0].transaction_isolation as string,
      { isolationLevel: 'serializable', readOnly: true },
    );
    expect(level).toBe('serializable');
    await expect(
      pool.withTransaction(async (c) => c.query(`insert into ${table} values (1)`), { readOnly: true }),
    ).rejects.toThrow(/read-only/);
  });

  it('rejects a bad isolation level with a ConfigError naming the option', async () => {
    const { pool } = testPgPool({ max: 1 });
    const err = await pool
      .withTransaction(async () => 1, { isolationLevel: 'chaos' as never })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toContain('isolationLevel');
  });

  it('a client released inside an open transaction does not leak it to the next user', async () => {
    const { pool } = testPgPool({ max: 1 });
    const released = new Promise<string | undefined>((resolve) =>
      pool.on('event', (e) => {
        if (e.type === 'release') resolve(e.reset);
      }),
    );
    const client = await pool.connect();
    await client.query('begin');
    await client.query(`insert into ${table} values (7)`);
    client.release();
    expect(await released).toBe('transaction status T');
    const next = await pool.connect();
    try {
      expect(next.getTransactionStatus()).toBe('I');
      expect((await next.query(`select count(*)::int as n from ${table}`)).rows[0].n).toBe(0);
    } finally {
      next.release();
    }
  });

  it('a client released inside a failed transaction is rolled back before reuse', async () => {
    const { pool } = testPgPool({ max: 1 });
    const lease = await pool.acquire();
    await lease.client.query('begin');
    await lease.client.query('select 1/0').catch(() => undefined);
    // released at once, possibly before the server's ReadyForQuery (status E) arrived
    lease.release();
    const { rows } = await pool.query('select 42 as n');
    expect(rows[0].n).toBe(42);
    expect(pool.stats().destroyed.dirty).toBe(0);
  });
});

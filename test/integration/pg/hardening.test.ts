/**
 * Issue 12 on a real PostgreSQL: shutdown races and misuse that used to crash the
 * process or leak, and the manager's bookkeeping.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, LeaseReleasedError, PoolManager } from '../../../src/index.js';
import { assertNoLeaks } from '../../../src/testing/index.js';
import { DATABASE_URL } from '../../helpers/env.js';
import { recordingLogger, testPgPool } from '../../helpers/pools.js';
import { unique } from '../../helpers/unique.js';

/** Collects uncaught exceptions in this process while `fn` runs (vitest would report them too). */
async function withoutUncaught(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const on = (err: unknown): void => {
    seen.push(err);
  };
  process.on('uncaughtException', on);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, 50)); // pg's callbacks of the forced connection
  } finally {
    process.off('uncaughtException', on);
  }
  return seen;
}

describe('a pool.query() running when its lease is forced', () => {
  it('close() forcing it throws nothing out of pg\'s callback; the query settles and close() resolves', async () => {
    const { pool } = testPgPool({ max: 2 });
    const uncaught = await withoutUncaught(async () => {
      const running = pool.query('select pg_sleep(0.3)').then(
        () => 'ok',
        (e: unknown) => e,
      );
      await new Promise((r) => setTimeout(r, 50));
      const closed = await pool.close({ timeoutMs: 0 });
      expect(closed.forced).toHaveLength(1);
      await running;
    });
    expect(uncaught).toEqual([]);
  });

  it('assertNoLeaks({ reclaim: true }) forcing it throws nothing either', async () => {
    const { pool } = testPgPool({ max: 2 });
    const uncaught = await withoutUncaught(async () => {
      const running = pool.query('select pg_sleep(0.2)').catch((e: unknown) => e);
      await new Promise((r) => setTimeout(r, 50));
      expect(() => assertNoLeaks({ reclaim: true })).toThrow(/still held/);
      await running;
    });
    expect(uncaught).toEqual([]);
    expect(pool.stats().active).toBe(0);
  });
});

describe('misuse', () => {
  it('a released client\'s query in callback form reports LEASE_RELEASED to the callback, not as a throw', async () => {
    const { pool } = testPgPool({ max: 1 });
    const client = await pool.connect();
    client.release();
    const err = await new Promise<unknown>((resolve) => {
      expect(() => client.query('select 1', (e: unknown) => resolve(e))).not.toThrow();
    });
    expect(err).toBeInstanceOf(LeaseReleasedError);
  });

  it('a thrown value String() cannot convert keeps the pool working and close() closes everything', async () => {
    const { pool } = testPgPool({ max: 2 });
    for (let i = 0; i < 5; i++) {
      const err = await pool.withConnection(() => {
        throw Object.create(null);
      }).catch((e: unknown) => e);
      expect(typeof err).toBe('object');
    }
    const { rows } = await pool.query('select 1 as n');
    expect(rows[0].n).toBe(1);
    expect(pool.stats().budget.available + pool.stats().total).toBe(2);
  });

  it('a listener handler throwing such a value is logged, not an uncaught exception', async () => {
    const logger = recordingLogger();
    const { pool } = testPgPool({ max: 2, logger });
    const channel = unique('ch');
    const listener = await pool.listener();
    const uncaught = await withoutUncaught(async () => {
      await listener.listen(channel, () => {
        throw Object.create(null);
      });
      await pool.query(`NOTIFY ${channel}, 'x'`);
      for (let i = 0; i < 100 && !logger.lines.some((l) => l.message.includes('handler threw')); i++) await new Promise((r) => setTimeout(r, 10));
    });
    expect(uncaught).toEqual([]);
    expect(logger.lines.some((l) => l.message.includes('handler threw'))).toBe(true);
    await listener.close();
  });

  it('ssl: "yes", user: 123 and port: NaN are ConfigErrors, not uncaught exceptions or a silent 5432', () => {
    for (const opts of [{ ssl: 'yes' }, { user: 123 }, { port: Number.NaN }]) {
      expect(() => testPgPool(opts as object)).toThrow(ConfigError);
    }
  });
});

describe('the manager', () => {
  it('forgets a pool closed directly: the manager does not keep it alive', async () => {
    const lg = new PoolManager();
    // in a function of its own, so no register of this test's frame keeps the pool
    const useAndClose = async (): Promise<WeakRef<object>> => {
      const pool = lg.pg(unique('mp'), { connectionString: DATABASE_URL, logger: recordingLogger(), max: 1 });
      await pool.query('select 1');
      await pool.close({ timeoutMs: 0 });
      return new WeakRef(pool);
    };
    const ref = await useAndClose();
    const gc = (globalThis as { gc?: () => void }).gc!;
    // deref() keeps its target alive until the current job ends: collect in a later job
    let collected = false;
    for (let i = 0; i < 20 && !collected; i++) {
      await new Promise((r) => setTimeout(r, 10));
      gc();
      await new Promise((r) => setTimeout(r, 0));
      collected = ref.deref() === undefined;
    }
    expect(collected).toBe(true);
    await lg.close();
  });

  it('a second lg.close() while the first drains resolves only when everything is closed', async () => {
    const lg = new PoolManager();
    const pool = lg.pg(unique('mc'), { connectionString: DATABASE_URL, logger: recordingLogger(), max: 1 });
    const lease = await pool.acquire();
    const first = lg.close({ timeoutMs: 5000 });
    let secondDone = false;
    const second = lg.close().then((r) => {
      secondDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(secondDone).toBe(false);
    lease.release();
    const [a, b] = await Promise.all([first, second]);
    expect(a).toBe(b);
    expect(pool.ending).toBe(true);
  });
});

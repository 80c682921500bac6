import { describe, expect, it } from 'vitest';
import { nextEvent, waitFor } from '../../helpers/events.js';
import { pgConnectionCount, pgTerminate } from '../../helpers/server-count.js';
import { testPgPool } from '../../helpers/pools.js';

describe('a connection killed on the server while idle', () => {
  it('is never handed out again, and the next queries succeed', async () => {
    const { pool, prefix } = testPgPool({ max: 2 });
    const pids = await Promise.all([
      pool.withConnection(async (c) => (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number),
      pool.withConnection(async (c) => (await c.query('select pg_backend_pid() as pid')).rows[0].pid as number),
    ]);
    // a connection opened for the second call may still be on its way when the first came back
    await waitFor(() => pool.stats().creating === 0);
    expect(pool.stats().idle).toBeGreaterThanOrEqual(1);
    const idleBefore = pool.stats().idle;

    expect(await pgTerminate(prefix)).toBe(idleBefore);
    // each backend's goodbye arrives on its own socket: wait until the pool has seen all of them
    await waitFor(() => pool.stats().destroyed.error === idleBefore, { message: `${idleBefore} connections destroyed with reason error` });

    for (let i = 0; i < 10; i++) {
      const { rows } = await pool.query('select pg_backend_pid() as pid');
      expect(pids).not.toContain(rows[0].pid);
    }
    expect(pool.stats().destroyed.error).toBe(idleBefore);
    expect(await pgConnectionCount(prefix)).toBe(pool.stats().total);
  });

  it('emits no unhandled error: the pool turns it into an event, and the next query opens a new connection', async () => {
    const { pool, prefix } = testPgPool({ max: 1, min: 1 });
    await pool.query('select 1');
    const errored = nextEvent(pool, 'error');
    await pgTerminate(prefix);
    const e = await errored;
    expect(e.error.message).toMatch(/terminat/i);
    // as pg.Pool: min keeps idle connections from closing, it opens none by itself
    await waitFor(() => pool.totalCount === 0);
    expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
    expect(pool.totalCount).toBe(1);
  });
});

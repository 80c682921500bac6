import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { LeaseReleasedError } from '../../../src/index.js';
import { nextEvent } from '../../helpers/events.js';
import { pgConnectionCount } from '../../helpers/server-count.js';
import { testPgPool } from '../../helpers/pools.js';

describe('drop-in for pg.Pool', () => {
  it('is an instance of the application pg.Pool and names its connections <app>:<pool>:<pid>', async () => {
    const { pool, app } = testPgPool({ max: 2 });
    expect(pool).toBeInstanceOf(pg.Pool);
    const { rows } = await pool.query('select current_setting($1) as name', ['application_name']);
    expect(rows[0].name).toBe(`${app}:${pool.name}:${process.pid}`);
  });

  it('query() takes every pg form', async () => {
    const { pool } = testPgPool({ max: 2 });
    expect((await pool.query('select 1 as a')).rows).toEqual([{ a: 1 }]);
    expect((await pool.query('select $1::text as a', ['x'])).rows).toEqual([{ a: 'x' }]);
    expect((await pool.query({ text: 'select $1::int as a', values: [2] })).rows).toEqual([{ a: 2 }]);
    expect((await pool.query({ text: 'select 3 as a', rowMode: 'array' })).rows).toEqual([[3]]);
    const viaCallback = await new Promise<unknown>((resolve, reject) =>
      pool.query('select $1::int as a', [4], (err: Error | undefined, res: pg.QueryResult) => (err ? reject(err) : resolve(res.rows))),
    );
    expect(viaCallback).toEqual([{ a: 4 }]);
    const cbNoValues = await new Promise<unknown>((resolve, reject) =>
      pool.query('select 5 as a', (err: Error | undefined, res: pg.QueryResult) => (err ? reject(err) : resolve(res.rows))),
    );
    expect(cbNoValues).toEqual([{ a: 5 }]);
    await expect(pool.query('select nonsense from nowhere')).rejects.toThrow(/nowhere/);
    // a query pg refuses before sending it rejects, and the connection still comes back
    await expect(pool.query(undefined as unknown as string)).rejects.toThrow(/null or undefined/);
    expect(pool.stats().active).toBe(0);
    // a statement error does not cost the connection
    expect(pool.stats().destroyed['released-with-error']).toBe(0);
  });

  it('connect() in promise and callback forms; release(err) destroys; counts follow', async () => {
    const { pool, prefix } = testPgPool({ max: 2 });
    const client = await pool.connect();
    expect(pool.totalCount).toBe(1);
    expect(pool.idleCount).toBe(0);
    client.release();
    expect(pool.idleCount).toBe(1);

    const viaCb = await new Promise<pg.PoolClient>((resolve, reject) =>
      pool.connect((err, c) => (err ? reject(err) : resolve(c!))),
    );
    const removed = nextEvent(pool, 'destroy');
    viaCb.release(new Error('I broke it'));
    expect((await removed).reason).toBe('released-with-error');
    await expect(async () => viaCb.query('select 1')).rejects.toBeInstanceOf(LeaseReleasedError);
    expect(() => viaCb.release()).toThrow(LeaseReleasedError);
    expect(await pgConnectionCount(prefix)).toBe(pool.totalCount);
  });

  it("emits pg.Pool's connect/acquire/release/remove events", async () => {
    const { pool } = testPgPool({ max: 1 });
    const seen: string[] = [];
    for (const e of ['connect', 'acquire', 'release', 'remove']) pool.on(e, () => seen.push(e));
    const c = await pool.connect();
    c.release();
    await pool.end();
    expect(seen).toEqual(['connect', 'acquire', 'release', 'remove']);
    expect(pool.ended).toBe(true);
  });

  it('pg.Pool events reach listeners however they were added, and stop once they are removed', async () => {
    const { pool } = testPgPool({ max: 1 });
    const seen: string[] = [];
    pool.prependListener('acquire', () => seen.push('prepended acquire'));
    pool.once('release', () => seen.push('once release'));
    pool.prependOnceListener('acquire', () => seen.push('prepended once acquire'));
    const onRelease = (): void => void seen.push('release');
    pool.addListener('release', onRelease);
    (await pool.connect()).release();
    expect(seen).toEqual(['prepended once acquire', 'prepended acquire', 'once release', 'release']);
    seen.length = 0;
    pool.removeListener('release', onRelease);
    pool.removeAllListeners('acquire');
    (await pool.connect()).release();
    expect(seen).toEqual([]);
    pool.on('release', onRelease);
    pool.removeAllListeners();
    (await pool.connect()).release();
    expect(seen).toEqual([]);
    pool.on('acquire', () => seen.push('acquire again'));
    (await pool.connect()).release();
    expect(seen).toEqual(['acquire again']);
  });

  it('a second release of the same lease throws LEASE_RELEASED naming both sites, and corrupts nothing', async () => {
    const { pool } = testPgPool({ max: 1, leakDetection: { captureStacks: 'always' } });
    const lease = await pool.acquire();
    lease.release();
    let err: unknown;
    try {
      lease.release();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LeaseReleasedError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/acquired at test\/integration\/pg\/drop-in\.test\.ts:\d+:\d+/);
    expect(msg).toMatch(/released at test\/integration\/pg\/drop-in\.test\.ts:\d+:\d+/);
    expect(pool.stats().idle).toBe(1);
    const a = await pool.acquire();
    expect(pool.stats().active).toBe(1);
    a.release();
  });

  it('await using releases at the end of the block', async () => {
    const { pool } = testPgPool({ max: 1 });
    {
      await using lease = await pool.acquire();
      await lease.client.query('select 1');
      expect(pool.stats().active).toBe(1);
    }
    expect(pool.stats().active).toBe(0);
  });

  it('connect() hands out the real pg.Client: the same object every checkout and in every event', async () => {
    const { pool } = testPgPool({
      max: 1,
      onConnect: (c) => {
        (c as unknown as { tagged: string }).tagged = 'by onConnect';
      },
    });
    const seen: Record<string, unknown[]> = { connect: [], acquire: [], release: [] };
    pool.on('connect', (c: pg.Client) => seen.connect!.push(c));
    pool.on('acquire', (c: pg.Client) => seen.acquire!.push(c));
    pool.on('release', (_err: unknown, c: pg.Client) => seen.release!.push(c));
    const first = await pool.connect();
    expect(first).toBeInstanceOf(pg.Client);
    expect((first as unknown as { tagged: string }).tagged).toBe('by onConnect');
    first.release();
    const second = await pool.connect();
    expect(second).toBe(first);
    second.release();
    await pool.query('select 1');
    {
      await using lease = await pool.acquire();
      expect(lease.client).toBe(first);
    }
    expect(seen.connect).toEqual([first]);
    expect(seen.acquire).toEqual([first, first, first, first]);
    expect(seen.release).toEqual([first, first, first, first]);
    const removed = new Promise<unknown>((resolve) => pool.once('remove', resolve));
    await pool.end();
    expect(await removed).toBe(first);
  });
});

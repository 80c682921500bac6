/**
 * What a pg.Pool user relies on, point by point (node-postgres's pg-pool test suite is
 * run against lifeguard outside this repository; these are lifeguard's own checks).
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { AcquireTimeoutError, LeaseReleasedError, LifeguardPgPool, PoolClosedError } from '../../../src/index.js';
import { DATABASE_URL, hostPort } from '../../helpers/env.js';
import { nextEvent, waitFor } from '../../helpers/events.js';
import { closeAfterTest, recordingLogger, testPgPool } from '../../helpers/pools.js';
import { FaultProxy } from '../../helpers/proxy.js';
import { runScript } from '../../helpers/script.js';
import { pgConnectionCount } from '../../helpers/server-count.js';

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

describe('the checked-out client is the real pg.Client', () => {
  it('has pg.Client\'s whole surface and state set by a \'connect\' listener', async () => {
    const { pool } = testPgPool({ max: 1, binary: false });
    pool.on('connect', (c: pg.Client) => {
      (c as unknown as { fromListener: number }).fromListener = 1;
    });
    const client = await pool.connect();
    expect(client).toBeInstanceOf(pg.Client);
    expect((client as unknown as { fromListener: number }).fromListener).toBe(1);
    for (const m of ['end', 'emit', 'query', 'release', 'escapeIdentifier', 'getTypeParser']) {
      expect(typeof (client as unknown as Record<string, unknown>)[m]).toBe('function');
    }
    expect((client as unknown as { connectionParameters: unknown }).connectionParameters).toBeDefined();
    client.release();
  });

  it('use after release throws LEASE_RELEASED until the next checkout; the next user is unaffected', async () => {
    const { pool } = testPgPool({ max: 1 });
    const client = await pool.connect();
    client.release();
    expect(() => client.query('select 1')).toThrow(LeaseReleasedError);
    expect(() => client.release()).toThrow(LeaseReleasedError);
    // the pool itself still uses the connection while the stale holder is refused
    expect((await pool.query('select 1 as n')).rows[0].n).toBe(1);
    expect(() => client.query('select 1')).toThrow(LeaseReleasedError);
    const again = await pool.connect();
    expect(again).toBe(client);
    expect((await again.query('select 2 as n')).rows[0].n).toBe(2);
    again.release();
  });

  it('the connect(callback) done function releases that checkout once', async () => {
    const { pool } = testPgPool({ max: 1 });
    const done = await new Promise<(err?: Error | boolean) => void>((resolve, reject) =>
      pool.connect((err, _client, release) => (err ? reject(err) : resolve(release))),
    );
    done();
    expect(() => done()).toThrow(LeaseReleasedError);
    expect(pool.idleCount).toBe(1);
  });
});

describe('end()', () => {
  it('lets started work finish: clients out and callers already waiting, then closes every connection', async () => {
    const { pool, prefix } = testPgPool({ max: 1 });
    const client = await pool.connect();
    const queued = [pool.query('select 1 as n'), pool.query('select 2 as n'), pool.query('select 3 as n')];
    expect(pool.waitingCount).toBe(3);
    let ended = false;
    const ending = pool.end().then(() => (ended = true));
    await expect(pool.connect()).rejects.toBeInstanceOf(PoolClosedError);
    await expect(pool.query('select 1')).rejects.toBeInstanceOf(PoolClosedError);
    expect(ended).toBe(false);
    client.release();
    expect((await Promise.all(queued)).map((r) => r.rows[0].n)).toEqual([1, 2, 3]);
    await ending;
    expect(await pgConnectionCount(prefix)).toBe(0);
    await expect(pool.end()).rejects.toThrow(/more than once/);
  });

  it('lets a query whose connection is still being opened finish', async () => {
    const { pool } = testPgPool({ max: 2 });
    const q = pool.query('select 7 as n');
    await pool.end();
    expect((await q).rows[0].n).toBe(7);
  });
});

describe("'error' events", () => {
  it('an error on a client in use goes to its user, not to the pool; an idle one is removed with err.client', async () => {
    const { pool } = testPgPool({ max: 1 });
    const poolErrors: Error[] = [];
    pool.on('error', (err: Error) => poolErrors.push(err));
    const client = await pool.connect();
    client.on('error', () => undefined);
    client.emit('error', new Error('while in use'));
    expect(poolErrors).toEqual([]);
    expect(pool.totalCount).toBe(1);
    client.release();
    expect(pool.totalCount).toBe(0);

    const idle = await pool.connect();
    idle.release();
    idle.emit('error', new Error('while idle'));
    expect(poolErrors.map((e) => e.message)).toEqual(['while idle']);
    expect((poolErrors[0] as Error & { client?: unknown }).client).toBe(idle);
    expect(pool.totalCount).toBe(0);
  });
});

describe('sizes and counts', () => {
  it('min opens no connection by itself; it only keeps idle ones', async () => {
    const { pool, prefix } = testPgPool({ min: 2, max: 3, idleTimeoutMillis: 20 });
    expect(pool.totalCount).toBe(0);
    await pool.query('select 1');
    await pool.query('select 1');
    expect(pool.totalCount).toBe(1);
    expect(await pgConnectionCount(prefix)).toBe(1);
  });

  it('totalCount includes a connection being opened, waitingCount leaves out its caller', async () => {
    const { pool } = testPgPool({ max: 1 });
    const first = pool.connect();
    expect(pool.totalCount).toBe(1);
    expect(pool.waitingCount).toBe(0);
    const second = pool.connect();
    expect(pool.waitingCount).toBe(1);
    (await first).release();
    (await second).release();
    expect(pool.waitingCount).toBe(0);
  });

  it('an idle connection closes after idleTimeoutMillis, emitting remove', async () => {
    const { pool } = testPgPool({ idleTimeoutMillis: 30 });
    const removed = new Promise<unknown>((resolve) => pool.once('remove', resolve));
    const started = performance.now();
    const client = await pool.connect();
    client.release();
    expect(await removed).toBe(client);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(pool.totalCount).toBe(0);
  });
});

describe('connect hooks', () => {
  it('onConnect failures, statement errors included, fail that connect but never open the breaker', async () => {
    let failing = 4;
    const { pool } = testPgPool({
      max: 2,
      circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 60_000 },
      onConnect: async (c) => {
        if (failing-- > 0) await c.query('select * from no_such_table_for_lifeguard');
      },
    });
    const circuits: unknown[] = [];
    pool.on('event', (e) => {
      if (e.type === 'circuit') circuits.push(e);
    });
    for (let i = 0; i < 4; i++) await expect(pool.connect()).rejects.toThrow(/no_such_table_for_lifeguard/);
    const client = await pool.connect();
    client.release();
    expect(circuits).toEqual([]);
    expect(pool.stats().circuit).toBe('closed');
  });

  it('a custom Client with callback-only connect() and end() works, also as new Pool(options, Client)', async () => {
    // what pg.native's Client and test doubles look like: callbacks, no promises
    class CallbackClient extends pg.Client {}
    Object.defineProperties(CallbackClient.prototype, {
      connect: {
        value(this: pg.Client, cb: (err: Error) => void): undefined {
          pg.Client.prototype.connect.call(this, cb);
          return undefined;
        },
      },
      end: {
        value(this: pg.Client, cb: (err: Error) => void): undefined {
          pg.Client.prototype.end.call(this, cb);
          return undefined;
        },
      },
    });
    const pool = closeAfterTest(new LifeguardPgPool({ connectionString: DATABASE_URL, logger: recordingLogger() }, CallbackClient));
    const client = await pool.connect();
    expect(client).toBeInstanceOf(CallbackClient);
    expect((await client.query('select 1 as n')).rows[0].n).toBe(1);
    client.release();
    await pool.end();
    expect(pool.totalCount).toBe(0);
  });
});

describe("pg.Pool's options and odd calls", () => {
  it('accepts poolSize, calls log, shows its options as pg.Pool does, hides the password', async () => {
    const lines: unknown[] = [];
    const { pool } = testPgPool({ poolSize: 3, maxUses: 1, password: 'sekrit', log: (m: unknown) => lines.push(m) });
    expect(pool.options.max).toBe(3);
    expect(pool.options.maxUses).toBe(1);
    expect(pool.options.idleTimeoutMillis).toBe(10_000);
    expect(pool.options.maxLifetimeSeconds).toBe(1800);
    expect(pool.options.password).toBe('sekrit');
    expect(JSON.stringify(pool.options)).not.toContain('sekrit');
    const client = await pool.connect();
    client.release();
    expect(lines).toContain('new client connected');
    expect(lines).toContain('remove expended client');
  });

  it('pool.query(fn) calls back with an error', async () => {
    const { pool } = testPgPool();
    const err = await new Promise<Error>((resolve) => (pool.query as unknown as (cb: (e: Error) => void) => void)(resolve));
    expect(err.message).toMatch(/not supported/);
  });

  it('the acquire timeout says what pg says, then who holds the connections', async () => {
    const { pool } = testPgPool({ max: 1, connectionTimeoutMillis: 50 });
    const held = await pool.connect();
    const err = await pool.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    held.release();
    expect(err).toBeInstanceOf(AcquireTimeoutError);
    expect((err as Error).message).toMatch(/timeout exceeded when trying to connect: no connection within 50 ms.*longest holders: 1× /);
  });
});

describe('scripts (child processes)', () => {
  it('a script whose first connect fails retries and exits 0 after its work', async () => {
    const run = runScript('failing-first-connect.mjs');
    await run.line(/^first query failed: first connect refused$/);
    await run.line(/^second query: 2$/);
    await run.line(/^ended$/);
    expect((await run.exit).code).toBe(0);
  });

  it('an idle pool that is never ended lets the process exit within idleTimeoutMillis + a margin', async () => {
    const idleMs = 300;
    const run = runScript('idle-never-ended.mjs', { IDLE_MS: String(idleMs) });
    const queried = await run.line(/^queried, total 2$/);
    const exit = await run.exit;
    expect(exit.code).toBe(0);
    const afterMs = exit.at - queried.at;
    expect(afterMs).toBeGreaterThanOrEqual(idleMs - 50);
    expect(afterMs).toBeLessThan(idleMs + 1500);
  });

  it("a socket reset mid-query rejects that query and leaves a process-exiting 'error' handler alone", async () => {
    proxy = await FaultProxy.start(hostPort(DATABASE_URL));
    const run = runScript('reset-mid-query.mjs', { PROXY_URL: proxy.via(DATABASE_URL) });
    await run.line(/^running$/);
    await waitFor(() => proxy!.accepted >= 1);
    proxy.cut();
    await run.line(/^query failed: /);
    await run.line(/^after reset: 3$/);
    const exit = await run.exit;
    expect(run.lines.map((l) => l.text)).not.toContain(expect.stringMatching(/pool error/));
    expect(exit.code).toBe(0);
  });

  it('exceptions thrown in connect, query and end callbacks are uncaught exceptions, not unhandled rejections', async () => {
    const run = runScript('throwing-callbacks.mjs');
    const exit = await run.exit;
    const out = run.lines.map((l) => l.text);
    expect(out).toEqual(
      expect.arrayContaining(['uncaught: from connect callback', 'uncaught: from query callback', 'uncaught: from end callback']),
    );
    expect(out.join('\n')).not.toMatch(/unhandled/);
    expect(exit.code).toBe(0);
  });
});

// keep the event helper referenced for readers grepping for await-style tests
void nextEvent;

import { afterEach, describe, expect, it } from 'vitest';
import { AcquireTimeoutError, CircuitOpenError } from '../../src/index.js';
import { hostPort, DATABASE_URL } from '../helpers/env.js';
import { nextEvent, waitFor } from '../helpers/events.js';
import { testPgPool } from '../helpers/pools.js';
import { FaultProxy } from '../helpers/proxy.js';
import { pgConnectionCount, pgTerminate } from '../helpers/server-count.js';
import { unique } from '../helpers/unique.js';
import pg from 'pg';

let proxy: FaultProxy | undefined;
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

function viaProxy(p: FaultProxy): string {
  const u = new URL(DATABASE_URL);
  u.host = `127.0.0.1:${p.port}`;
  return u.toString();
}

describe('PostgreSQL faults through the proxy', () => {
  it('connections cut mid-query: those callers get errors, the next queries succeed, nothing leaks', async () => {
    proxy = await FaultProxy.start(hostPort(DATABASE_URL));
    const { pool, prefix } = testPgPool({ connectionString: viaProxy(proxy), max: 4, healthCheck: false });
    await Promise.all(Array.from({ length: 4 }, () => pool.query('select 1')));
    const inFlight = Array.from({ length: 4 }, () => pool.query('select pg_sleep(5)'));
    await waitFor(() => pool.stats().active === 4);
    proxy.cut();
    const results = await Promise.allSettled(inFlight);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    for (let i = 0; i < 10; i++) expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
    expect(pool.stats().active).toBe(0);
    expect(pool.stats().destroyed.error + pool.stats().destroyed['released-with-error']).toBeGreaterThanOrEqual(4);
    await waitFor(async () => (await pgConnectionCount(prefix)) === pool.stats().total, { timeoutMs: 5000 });
  });

  it('a server that accepts and never answers: calls fail within connectTimeoutMs / acquireTimeoutMs', async () => {
    proxy = await FaultProxy.start(hostPort(DATABASE_URL));
    proxy.setMode('stall');
    const { pool } = testPgPool({ connectionString: viaProxy(proxy), max: 2, connectTimeoutMs: 300, acquireTimeoutMs: 600, healthCheck: false });
    const t0 = performance.now();
    const results = await Promise.allSettled([pool.query('select 1'), pool.query('select 1'), pool.query('select 1')]);
    const elapsed = performance.now() - t0;
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(elapsed).toBeLessThan(600 + 200);
    expect(pool.stats().pending).toBe(0);
  });

  it('refused connections open the breaker; accepted again, the pool recovers', async () => {
    proxy = await FaultProxy.start(hostPort(DATABASE_URL));
    const { pool } = testPgPool({
      connectionString: viaProxy(proxy),
      max: 2,
      connectTimeoutMs: 500,
      reconnect: { baseMs: 10, maxMs: 100 },
      circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 300, openAfterMs: 0 },
      healthCheck: false,
    });
    proxy.setMode('refuse');
    const opened = nextEvent(pool, 'circuit', (e) => e.to === 'open');
    const attempts = await Promise.allSettled(Array.from({ length: 5 }, () => pool.query('select 1')));
    expect(attempts.every((r) => r.status === 'rejected')).toBe(true);
    await opened;
    await expect(pool.query('select 1')).rejects.toBeInstanceOf(CircuitOpenError);
    proxy.setMode('pass');
    await nextEvent(pool, 'circuit', (e) => e.to === 'closed', { timeoutMs: 5000 });
    expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
  });

  it('"too many clients" for a role with a connection limit: a clear error, counted, and recovery when room returns', async () => {
    const role = unique('lim');
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`create role ${role} login connection limit 1`);
    const u = new URL(DATABASE_URL);
    u.username = role;
    const blocker = new pg.Client({ connectionString: u.toString() });
    try {
      await blocker.connect();
      const { pool } = testPgPool({
        connectionString: u.toString(),
        max: 2,
        reconnect: { baseMs: 10, maxMs: 50 },
        // no connection of this pool works: the limit is an outage for it, counted by the breaker
        circuitBreaker: { failureThreshold: 2, resetTimeoutMs: 300, openAfterMs: 0 },
        healthCheck: false,
      });
      const err = await pool.query('select 1').catch((e: unknown) => e);
      expect(String((err as Error).message)).toMatch(/too many connections for role/);
      const opened = nextEvent(pool, 'circuit', (e) => e.to === 'open');
      await pool.query('select 1').catch(() => undefined);
      await opened;
      await blocker.end();
      await nextEvent(pool, 'circuit', (e) => e.to === 'closed', { timeoutMs: 5000 });
      expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
      await pool.close();
    } finally {
      await blocker.end().catch(() => undefined);
      await admin.query(`drop role if exists ${role}`).catch(() => undefined);
      await admin.end();
    }
  });

  it('pg_terminate_backend of an in-use connection: that caller gets an error, the connection is destroyed, the pool stays healthy', async () => {
    const { pool, prefix } = testPgPool({ max: 3 });
    const slow = pool.query('select pg_sleep(5)');
    slow.catch(() => undefined); // rejects while the test is still terminating it
    await waitFor(() => pool.stats().active === 1);
    const destroyed = nextEvent(pool, 'destroy');
    expect(await pgTerminate(prefix)).toBe(1);
    await expect(slow).rejects.toThrow(/terminat/i);
    expect((await destroyed).reason).toMatch(/error|released-with-error/);
    expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
    expect(pool.stats().circuit).toBe('closed');
    expect(await pgConnectionCount(prefix)).toBe(pool.stats().total);
  });

  it('an acquire that times out while connecting fails says connecting keeps failing, with the cause', async () => {
    proxy = await FaultProxy.start(hostPort(DATABASE_URL));
    proxy.setMode('stall');
    const { pool } = testPgPool({ connectionString: viaProxy(proxy), max: 1, connectTimeoutMs: 2000, acquireTimeoutMs: 200, healthCheck: false });
    const first = pool.query('select 1').catch((e: unknown) => e);
    const err = await pool.acquire({ timeoutMs: 150 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AcquireTimeoutError);
    await first;
  });
});

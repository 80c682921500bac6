import { describe, expect, it } from 'vitest';
import { AcquireTimeoutError, isLifeguardError } from '../../../src/index.js';
import { testPgPool } from '../../helpers/pools.js';

describe('acquire timeout and abort', () => {
  it('rejects within timeoutMs + 50 ms with ACQUIRE_TIMEOUT naming the pool and counts, and leaves no waiter', async () => {
    const { pool } = testPgPool({ max: 2 });
    const held = [await pool.acquire(), await pool.acquire()];
    const started = performance.now();
    const err = await pool.acquire({ timeoutMs: 200 }).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect(err).toBeInstanceOf(AcquireTimeoutError);
    expect(isLifeguardError(err) && err.code).toBe('ACQUIRE_TIMEOUT');
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(250);
    const e = err as AcquireTimeoutError;
    expect(e.message).toContain(`pool "${pool.name}"`);
    expect(e.message).toContain('in use 2/2, idle 0, waiting 1');
    expect(e.reason).toBe('pool-full');
    expect(pool.stats().pending).toBe(0);
    expect(pool.stats().timeouts).toBe(1);
    for (const l of held) l.release();
    // the pool still serves
    expect((await pool.query('select 1 as one')).rows[0].one).toBe(1);
  });

  it('an aborted acquire is gone from pending at once and rejects with the abort reason', async () => {
    const { pool } = testPgPool({ max: 1 });
    const held = await pool.acquire();
    const ctrl = new AbortController();
    const waiting = pool.acquire({ signal: ctrl.signal, timeoutMs: 60_000 });
    expect(pool.stats().pending).toBe(1);
    expect(pool.waitingCount).toBe(1);
    ctrl.abort(new Error('client went away'));
    expect(pool.stats().pending).toBe(0);
    await expect(waiting).rejects.toThrow('client went away');
    held.release();
    // the connection went to nobody: it is idle, not handed to the aborted caller
    expect(pool.stats().idle).toBe(1);
    expect(pool.stats().active).toBe(0);
  });

  it('an already-aborted signal rejects without taking a connection', async () => {
    const { pool } = testPgPool({ max: 1 });
    await pool.query('select 1');
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(pool.acquire({ signal: ctrl.signal })).rejects.toThrow();
    expect(pool.stats().active).toBe(0);
  });

  it('fails waiters with the connect error instead of hanging when the server is unreachable', async () => {
    const { pool } = testPgPool({ connectionString: 'postgres://postgres@127.0.0.1:1/test', max: 2, acquireTimeoutMs: 30_000 });
    const started = performance.now();
    const results = await Promise.allSettled([pool.query('select 1'), pool.query('select 1'), pool.query('select 1')]);
    expect(performance.now() - started).toBeLessThan(5000);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(String((r as PromiseRejectedResult).reason)).toMatch(/ECONNREFUSED/);
    }
    expect(pool.stats().pending).toBe(0);
    expect(pool.stats().connectFailures).toBeGreaterThanOrEqual(3);
  });
});

import { describe, expect, it } from 'vitest';
import type { EventOf } from '../../../src/index.js';
import { testRedisPool } from '../../helpers/pools.js';
import { unique } from '../../helpers/unique.js';

function dbOf(info: string): number {
  return Number(/ db=(\d+)/.exec(info)![1]);
}

describe('no dirty Redis connection is handed out', () => {
  it('after SELECT 5, the next leases see database 0 (the release says it reset)', async () => {
    const { pool } = testRedisPool({ max: 2 });
    const releases: EventOf<'release'>[] = [];
    pool.on('event', (e) => {
      if (e.type === 'release') releases.push(e);
    });
    await pool.withConnection((r) => r.select(5));
    for (let i = 0; i < 3; i++) {
      expect(dbOf(await pool.withConnection((r) => r.client('INFO') as Promise<string>))).toBe(0);
    }
    expect(releases[0]!.reset).toBe('SELECT 5');
    expect(pool.stats().created).toBe(1);
  });

  it('after MULTI without EXEC, the next lease runs commands normally', async () => {
    const { pool } = testRedisPool({ max: 2 });
    const key = unique('k');
    await pool.withConnection(async (r) => {
      await r.multi({ pipeline: false });
      await r.set(key, 'queued-not-executed');
    });
    const value = await pool.withConnection(async (r) => {
      await r.set(key, 'direct');
      return r.get(key);
    });
    expect(value).toBe('direct');
    await pool.client.del(key);
  });

  it('after WATCH, the next lease is not watching (its EXEC is not aborted by an old watch)', async () => {
    const { pool } = testRedisPool({ max: 2 });
    const key = unique('w');
    await pool.withConnection((r) => r.watch(key));
    await pool.client.set(key, 'changed by someone else');
    const result = await pool.withConnection((r) => r.multi().set(key, 'mine').exec());
    expect(result).not.toBeNull();
    expect(await pool.client.get(key)).toBe('mine');
    await pool.client.del(key);
  });

  it('a lease that subscribed, or left a blocking command pending, is destroyed, not reused', async () => {
    const { pool } = testRedisPool({ max: 2 });
    const destroyed: EventOf<'destroy'>[] = [];
    pool.on('event', (e) => {
      if (e.type === 'destroy') destroyed.push(e);
    });
    await pool.withConnection((r) => r.subscribe(unique('c')));
    const lease = await pool.acquire();
    void lease.client.blpop(unique('never'), 0).catch(() => undefined);
    lease.release();
    await expect.poll(() => destroyed.map((d) => d.detail)).toEqual(['subscriber mode', 'command still pending']);
    expect(await pool.withConnection((r) => r.ping())).toBe('PONG');
  });

  it('using a released lease throws LEASE_RELEASED; duplicate() on a lease is refused', async () => {
    const { pool } = testRedisPool({ max: 2 });
    const lease = await pool.acquire();
    expect(() => lease.client.duplicate()).toThrow(/outside the pool budget/);
    const client = lease.client;
    lease.release();
    expect(() => client.get('x')).toThrow(expect.objectContaining({ code: 'LEASE_RELEASED' }));
  });

  it('a method read from one lease client and called later acts on that lease, not on the last one read', async () => {
    const { pool } = testRedisPool({ max: 3 });
    const a = await pool.acquire();
    const b = await pool.acquire();
    await a.client.select(1);
    const selectOnA = a.client.select;
    const pingOnB = b.client.ping; // the last method read is b's
    await selectOnA.call(a.client, 2);
    expect(dbOf(String(await a.client.client('INFO')))).toBe(2);
    expect(dbOf(String(await b.client.client('INFO')))).toBe(0);
    expect(await Reflect.apply(pingOnB, b.client, [])).toBe('PONG');
    const clientA = a.client;
    a.release();
    b.release();
    const stale = clientA.ping; // read after release, then called: refused
    expect(() => Reflect.apply(stale, clientA, [])).toThrow(expect.objectContaining({ code: 'LEASE_RELEASED' }));
  });
});

describe('redis options', () => {
  it('max below 2 is a ConfigError: the shared client holds one permit', async () => {
    const { createRedisPool } = await import('../../../src/index.js');
    expect(() => createRedisPool({ max: 1 })).toThrow(/option max must be an integer >= 2 for a Redis pool/);
  });
});

import { describe, expect, it } from 'vitest';
import { makePool, ofType, until } from '../../../helpers/core-pool.js';

describe('Connections', () => {
  it('announces a new connection and counts each close by reason', async () => {
    const { pool, events } = makePool({ max: 1, maxUses: 2 });
    for (let i = 0; i < 4; i++) (await pool.acquire(undefined, undefined, true)).release();
    expect(ofType(events, 'connect')).toHaveLength(2);
    expect(ofType(events, 'connect')[0]!.durationMs).toBeGreaterThanOrEqual(0);
    await until(() => pool.stats().destroyed['max-uses'] === 2);
    expect(pool.stats().created).toBe(2);
    await pool.close();
    expect(pool.stats().destroyed).toMatchObject({ 'max-uses': 2, close: 0 });
  });

  it('a connection released with an error is closed, not reused', async () => {
    const { pool, events } = makePool({ max: 1 });
    const a = await pool.acquire(undefined, undefined, true);
    const first = a.client.id;
    a.release(new Error('protocol out of sync'));
    const b = await pool.acquire(undefined, undefined, true);
    expect(b.client.id).not.toBe(first);
    expect(ofType(events, 'destroy')[0]).toMatchObject({ reason: 'released-with-error', detail: 'protocol out of sync' });
    b.release();
    await pool.close();
  });

  it('close() waits for a connection being opened and closes it; its permit comes back', async () => {
    const { pool, driver } = makePool({ max: 1 });
    let open!: () => void;
    driver.gate = new Promise<void>((r) => (open = r));
    const waiting = pool.acquire({ timeoutMs: 5000 }, undefined, true).catch((e: unknown) => e);
    const closed = pool.close({ timeoutMs: 1000 });
    expect(pool.stats().creating).toBe(1);
    open();
    await closed;
    expect(await waiting).toMatchObject({ code: 'POOL_CLOSED' });
    expect(driver.open).toBe(0);
    expect(pool.budget.available).toBe(1);
  });

  it('a connection that breaks while idle is closed and replaced on the next acquire', async () => {
    const { pool, driver } = makePool({ max: 1 });
    const a = await pool.acquire(undefined, undefined, true);
    const conn = a.client;
    a.release();
    conn.fail!(undefined); // closed by the server without an error
    await until(() => driver.open === 0);
    const b = await pool.acquire(undefined, undefined, true);
    expect(b.client).not.toBe(conn);
    expect(pool.stats().destroyed.error).toBe(1);
    b.release();
    await pool.close();
  });
});

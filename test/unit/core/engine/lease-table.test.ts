import { describe, expect, it } from 'vitest';
import { LeaseReleasedError } from '../../../../src/core/errors.js';
import { makePool, ofType } from '../../../helpers/core-pool.js';

describe('LeaseTable', () => {
  it('counts leases out and back, and a second release throws LEASE_RELEASED', async () => {
    const { pool } = makePool({ max: 2 });
    const a = await pool.acquire(undefined, undefined, true);
    const b = await pool.acquire(undefined, undefined, true);
    expect(a.id).not.toBe(b.id);
    expect(pool.stats()).toMatchObject({ active: 2, acquired: 2, released: 0 });
    a.release();
    expect(() => a.release()).toThrow(LeaseReleasedError);
    expect(() => a.release()).toThrow(`release of lease #${a.id} after it was released`);
    b.release();
    expect(pool.stats()).toMatchObject({ active: 0, acquired: 2, released: 2 });
    await pool.close();
  });

  it('reclaim() forces every lease back: listed, its connection closed, later use names the note', async () => {
    const { pool, driver, events } = makePool({ max: 2 });
    const a = await pool.acquire({ tag: 'job' }, undefined, true);
    const b = await pool.acquire(undefined, undefined, true);
    const out = pool.reclaim('the test suite after a leak');
    expect(out.map((i) => i.id)).toEqual([a.id, b.id]);
    expect(out[0]).toMatchObject({ pool: 'core', tag: 'job', kind: 'lease' });
    expect(pool.stats().active).toBe(0);
    expect(() => a.client).toThrow(/released at the test suite after a leak/);
    expect(ofType(events, 'destroy').map((e) => e.reason)).toEqual(['released-with-error', 'released-with-error']);
    // a forced lease's release is the user's second release: it says so
    expect(() => b.release()).toThrow(LeaseReleasedError);
    await pool.close();
    expect(driver.open).toBe(0);
  });

  it('a lease ended from lifeguard code after it was forced back is a no-op', async () => {
    const { pool } = makePool({ max: 1 });
    const a = await pool.acquire(undefined, undefined, false);
    pool.reclaim('forced');
    expect(() => pool.endLease(a, undefined)).not.toThrow();
    expect(pool.stats().released).toBe(1);
    await pool.close();
  });
});

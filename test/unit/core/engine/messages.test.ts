import { describe, expect, it } from 'vitest';
import { AcquireTimeoutError } from '../../../../src/core/errors.js';
import { ceilingText, circuitOpenError, escalateText, nestedAcquireText, queueFullError } from '../../../../src/core/messages.js';
import { resolveCommonOptions } from '../../../../src/core/options.js';
import { silentLogger } from '../../../../src/core/logger.js';
import { makePool } from '../../../helpers/core-pool.js';

describe('messages', () => {
  it('a timeout names the budget held outside the pool and the failing connect', async () => {
    const { pool, driver } = makePool({ max: 2, circuitBreaker: false, reconnect: { baseMs: 1000, maxMs: 1000 } });
    pool.budget.tryTake('subscriber');
    const held = await pool.acquire(undefined, undefined, true);
    driver.failWith = new Error('connect ETIMEDOUT 10.0.0.1:5432');
    // the second permit is free but connecting fails: the waiter rides it out until its timeout
    const err = (await pool.acquire({ timeoutMs: 50 }, undefined, true).catch((e: unknown) => e)) as AcquireTimeoutError;
    expect(err).toBeInstanceOf(AcquireTimeoutError);
    expect(err.message).toContain('budget 2: 1 pooled, 0 shared, 0 dedicated, 0 listener, 1 subscriber');
    held.release();
    pool.budget.give('subscriber');
    await pool.close();
  });

  it('the texts users act on say what happened and what to do', () => {
    const opts = resolveCommonOptions({ logger: silentLogger, name: 'p', max: 4, maxWaiting: 10 });
    expect(queueFullError('p', opts, 4, 0, 10).message).toBe(
      'lifeguard: pool "p": 10 callers already wait for a connection (maxWaiting 10; in use 4/4); refusing this acquire at once instead of queueing it',
    );
    const open = circuitOpenError('p', 'ECONNREFUSED', 1200, undefined);
    expect(open.message).toContain('last: ECONNREFUSED');
    expect(open.message).toContain('next probe in 1200 ms');
    expect(nestedAcquireText('p', 7, 'src/a.ts:1:2', 'src/b.ts:3:4')).toContain('at src/b.ts:3:4 while this async context already holds lease #7');
    expect(nestedAcquireText('p', 7, undefined, undefined)).toContain('an unrecorded site');
    expect(ceilingText('p', 'too many', 1, 5)).toContain('its 1 working connection (ceiling 1 of max 5)');
    expect(ceilingText('p', 'too many', 2, 5)).toContain('its 2 working connections (ceiling 2 of max 5)');
    expect(escalateText('p', 120_000)).toContain('for 120 s');
  });
});

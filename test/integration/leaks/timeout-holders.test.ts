import { describe, expect, it } from 'vitest';
import { type AcquireTimeoutError, type PgLease, runWithTag } from '../../../src/index.js';
import { recordingLogger, testPgPool } from '../../helpers/pools.js';
import { nextEvent } from '../../helpers/events.js';

describe('ACQUIRE_TIMEOUT names the holders', () => {
  it('groups the longest holders by acquisition site, with counts, oldest age and tags', async () => {
    const { pool } = testPgPool({ max: 3, leakDetection: { captureStacks: 'always' } });
    const held: PgLease[] = [];
    for (let i = 0; i < 2; i++) held.push(await runWithTag('GET /users', () => pool.acquire())); // SITE-A
    held.push(await pool.acquire({ tag: 'sync job' })); // SITE-B
    const err = (await pool.acquire({ timeoutMs: 100 }).catch((e: unknown) => e)) as AcquireTimeoutError;
    expect(err.code).toBe('ACQUIRE_TIMEOUT');
    expect(err.message).toMatch(
      /longest holders: 2× test\/integration\/leaks\/timeout-holders\.test\.ts:\d+:\d+ \(oldest \d+ ms, "GET \/users"\), 1× test\/integration\/leaks\/timeout-holders\.test\.ts:\d+:\d+ \(oldest \d+ ms, "sync job"\)/,
    );
    expect(pool.leases().map((l) => l.tag)).toEqual(['GET /users', 'GET /users', 'sync job']);
    for (const l of held) l.release();
  });
});

describe('sampled capture', () => {
  it('a leak without a site switches to capturing every acquire, so the next occurrence is attributed', async () => {
    const logger = recordingLogger();
    const { pool } = testPgPool({ max: 3, logger, leakDetection: { captureStacks: 'sampled', sampleRate: 0, thresholdMs: 50 } });
    const firstLeak = nextEvent(pool, 'leak');
    const first = await pool.acquire();
    const unattributed = await firstLeak;
    expect(unattributed.lease.site).toBeUndefined();
    first.release();
    const secondLeak = nextEvent(pool, 'leak');
    const second = await pool.acquire(); // SAMPLED-SECOND
    const attributed = await secondLeak;
    expect(attributed.lease.site).toMatch(/timeout-holders\.test\.ts:\d+:\d+/);
    second.release();
    expect(logger.lines.some((l) => l.message.includes('capturing every acquisition stack'))).toBe(true);
  });

  it('prints each leak once as a readable block, and rate-limits a storm', async () => {
    const logger = recordingLogger();
    const { pool } = testPgPool({ max: 20, logger, leakDetection: { captureStacks: 'always', thresholdMs: 30 } });
    // listening before acquiring: under load the first leaks come before the last acquire
    const allReported = new Promise<void>((resolve) => {
      let n = 0;
      pool.on('event', (e) => {
        if (e.type === 'leak' && ++n === 20) resolve();
      });
    });
    const leases = await Promise.all(Array.from({ length: 20 }, () => pool.acquire({ tag: 'storm' })));
    await allReported;
    const blocks = logger.lines.filter((l) => l.message.startsWith('lifeguard: leak (held-too-long)'));
    expect(blocks).toHaveLength(10);
    expect(blocks[0]!.message).toMatch(/tag: "storm"\n {2}acquired at:\n {4}at .*timeout-holders\.test\.ts:\d+:\d+/);
    for (const l of leases) l.release();
  });
});

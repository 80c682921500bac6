import { describe, expect, it } from 'vitest';
import { CorePool } from '../../../src/core/pool.js';
import { EventHub } from '../../../src/core/events.js';
import { resolveCommonOptions } from '../../../src/core/options.js';
import { silentLogger, type Logger } from '../../../src/core/logger.js';
import { AcquireTimeoutError } from '../../../src/core/errors.js';
import { FakeDriver } from '../../helpers/fake-driver.js';

function recordingPool(max: number) {
  const lines: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) };
  const pool = new CorePool(new FakeDriver(), resolveCommonOptions({ logger, name: 'quiet', max }), new EventHub(undefined, silentLogger));
  return { pool, lines };
}

describe('the default logger at full use', () => {
  it('says nothing when a pool runs at 100% with nobody waiting (max 1, and max 10 with 10 holders)', async () => {
    for (const max of [1, 10]) {
      const { pool, lines } = recordingPool(max);
      for (let round = 0; round < 3; round++) {
        const leases = await Promise.all(Array.from({ length: max }, () => pool.acquire(undefined, undefined, true)));
        for (const l of leases) l.release();
      }
      expect(lines).toEqual([]);
      await pool.close();
    }
  });

  it('says nothing when 20 callers share 10 connections and none times out', async () => {
    const { pool, lines } = recordingPool(10);
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const l = await pool.acquire(undefined, undefined, true);
        await new Promise((r) => setTimeout(r, 5));
        l.release();
      }),
    );
    expect(lines.filter((l) => l.includes('utilization'))).toEqual([]);
    await pool.close();
  });

  it('logs an acquire timeout, with the holders', async () => {
    const { pool, lines } = recordingPool(1);
    const held = await pool.acquire({ tag: 'holder' }, undefined, true);
    const err = await pool.acquire({ timeoutMs: 20 }, undefined, true).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AcquireTimeoutError);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('no connection within 20 ms');
    expect(lines[0]).toContain('"holder"');
    held.release();
    await pool.close();
  });
});

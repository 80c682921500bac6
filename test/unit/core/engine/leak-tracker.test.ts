import { describe, expect, it } from 'vitest';
import { makePool, ofType, until } from '../../../helpers/core-pool.js';

function entry(): void {}

describe('LeakTracker', () => {
  it('reports a lease held past thresholdMs once, with its site and tag, and says when it comes back', async () => {
    const { pool, events, logs } = makePool({ max: 1, leakDetection: { thresholdMs: 20, captureStacks: 'always' } });
    // the site is the line that called the public entry point
    const acquire = (): ReturnType<typeof pool.acquire> => pool.acquire({ tag: 'GET /report' }, pool.site(acquire), true);
    const lease = await acquire();
    await until(() => ofType(events, 'leak').length === 1);
    const leak = ofType(events, 'leak')[0]!;
    expect(leak).toMatchObject({ kind: 'held-too-long', lease: { id: lease.id, tag: 'GET /report' } });
    expect(leak.lease.site).toMatch(/leak-tracker\.test\.ts:\d+/);
    expect(logs.find((l) => l.startsWith('warn: lifeguard: leak (held-too-long)'))).toContain(`lease #${lease.id} held for`);
    lease.release();
    expect(ofType(events, 'leak-resolved')).toHaveLength(1);
    expect(logs.some((l) => l.includes(`leaked lease #${lease.id} came back after`))).toBe(true);
    expect(ofType(events, 'leak')).toHaveLength(1);
    await pool.close();
  });

  it('sampled mode captures one acquisition in 1/sampleRate, every one while escalated', async () => {
    const { pool } = makePool({ max: 1, leakDetection: { captureStacks: 'sampled', sampleRate: 0.25, thresholdMs: 60_000 } });
    const sites = Array.from({ length: 8 }, () => pool.site(entry) !== undefined);
    expect(sites.filter(Boolean)).toHaveLength(2);
    await pool.close();
  });

  it('a timeout with an unsampled holder escalates capture, and the log says for how long it really lasts', async () => {
    const { pool, logs } = makePool({ max: 1, leakDetection: { captureStacks: 'sampled', sampleRate: 0.001, thresholdMs: 30_000 } });
    const held = await pool.acquire(undefined, pool.site(entry), true);
    await pool.acquire({ timeoutMs: 10 }, undefined, true).catch(() => undefined);
    await until(() => logs.some((l) => l.includes('capturing every acquisition stack')));
    // max(60 s, 4 × thresholdMs)
    expect(logs.find((l) => l.includes('capturing every acquisition stack'))).toContain('for 120 s');
    expect(pool.site(entry)).toBeDefined();
    expect(pool.site(entry)).toBeDefined();
    held.release();
    await pool.close();
  });

  it('a lease dropped without release is reported lost once garbage-collected, and its permit comes back', async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    expect(gc, 'run with --expose-gc').toBeTypeOf('function');
    const { pool, events, driver } = makePool({ max: 1, leakDetection: { thresholdMs: 60_000, captureStacks: 'always' } });
    await (async () => {
      await pool.acquire({ tag: 'dropped' }, pool.site(entry), true);
    })();
    // the sweeper registers leases still out after one period (1 s here)
    const end = Date.now() + 10_000;
    while (ofType(events, 'leak').length === 0 && Date.now() < end) {
      gc!();
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(ofType(events, 'leak')[0]).toMatchObject({ kind: 'lost', lease: { tag: 'dropped' } });
    await until(() => driver.open === 0);
    expect(pool.stats().active).toBe(0);
    await pool.close();
  });
});

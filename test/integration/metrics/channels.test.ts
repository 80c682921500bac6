import dc from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { ACQUIRE_CHANNEL, type AcquireMessage, CIRCUIT_CHANNEL, type CircuitMessage, LEAK_CHANNEL, type LeakMessage } from '../../../src/index.js';
import { nextEvent } from '../../helpers/events.js';
import { testPgPool } from '../../helpers/pools.js';

const undo: (() => void)[] = [];
afterEach(() => {
  for (const u of undo.splice(0)) u();
});

function record<T>(name: string): T[] {
  const got: T[] = [];
  const fn = (m: unknown): void => {
    got.push(m as T);
  };
  dc.subscribe(name, fn);
  undo.push(() => dc.unsubscribe(name, fn));
  return got;
}

describe('diagnostics_channel', () => {
  it('lifeguard:acquire traces each acquire: start, end, asyncStart, asyncEnd (and error) with pool, tag, site and wait', async () => {
    const { pool } = testPgPool({ max: 1 });
    expect(dc.tracingChannel(ACQUIRE_CHANNEL).hasSubscribers).toBe(false);
    const events: [string, AcquireMessage][] = [];
    const handlers = Object.fromEntries(
      (['start', 'end', 'asyncStart', 'asyncEnd', 'error'] as const).map((k) => [k, (m: unknown) => events.push([k, m as AcquireMessage])]),
    ) as unknown as Parameters<ReturnType<typeof dc.tracingChannel>['subscribe']>[0];
    const ch = dc.tracingChannel(ACQUIRE_CHANNEL);
    ch.subscribe(handlers);
    undo.push(() => ch.unsubscribe(handlers));

    const lease = await pool.acquire({ tag: 'job' });
    const second = pool.acquire({ timeoutMs: 50 });
    await expect(second).rejects.toThrow(/no connection within 50 ms/);
    lease.release();
    await pool.query('select 1'); // scoped calls are traced too (no promise-free shortcut while subscribed)

    const kinds = events.map(([k]) => k);
    expect(kinds).toEqual(['start', 'end', 'asyncStart', 'asyncEnd', 'start', 'end', 'error', 'asyncStart', 'asyncEnd', 'start', 'end', 'asyncStart', 'asyncEnd']);
    const first = events[0]![1];
    expect(events[3]![1]).toBe(first); // one context object per trace
    expect(first.pool).toBe(pool.name);
    expect(first.driver).toBe('pg');
    expect(first.tag).toBe('job');
    expect(first.site).toMatch(/channels\.test\.ts:\d+:\d+/);
    expect(first.leaseId).toBe(lease.id);
    expect(first.waitMs).toBeGreaterThan(0); // it waited for the first connection to open
    const failed = events[6]![1];
    expect((failed.error as { code?: string }).code).toBe('ACQUIRE_TIMEOUT');
    expect(failed.waitMs).toBeGreaterThanOrEqual(45);
    expect(failed.leaseId).toBeUndefined();
    const free = events[12]![1];
    expect(free.waitMs).toBe(0); // a free connection: no wait
  });

  it('lifeguard:leak carries each leak report; lifeguard:circuit each breaker transition', async () => {
    const leaks = record<LeakMessage>(LEAK_CHANNEL);
    const circuits = record<CircuitMessage>(CIRCUIT_CHANNEL);
    const { pool } = testPgPool({ max: 1, leakDetection: { thresholdMs: 50 } });
    const lease = await pool.acquire();
    await nextEvent(pool, 'leak');
    lease.release();
    expect(leaks).toHaveLength(1);
    expect(leaks[0]).toMatchObject({ pool: pool.name, driver: 'pg', kind: 'held-too-long', lease: { id: lease.id } });

    // a pool whose server refuses: the breaker opens after one failure
    const { pool: down } = testPgPool({ connectionString: 'postgres://postgres@127.0.0.1:1/test', circuitBreaker: { failureThreshold: 1, resetTimeoutMs: 60_000, openAfterMs: 0 } });
    const opened = nextEvent(down, 'circuit', (e) => e.to === 'open');
    await down.query('select 1').catch(() => undefined);
    await opened;
    expect(circuits.filter((c) => c.pool === down.name)[0]).toMatchObject({ driver: 'pg', from: 'closed', to: 'open' });
  });
});

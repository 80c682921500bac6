import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HealthMonitor } from '../../../src/core/health.js';
import { CorePool } from '../../../src/core/pool.js';
import { EventHub, type EventOf } from '../../../src/core/events.js';
import { resolveCommonOptions, type CommonPoolOptions } from '../../../src/core/options.js';
import type { Logger } from '../../../src/core/logger.js';
import { FakeDriver, type FakeConn } from '../../helpers/fake-driver.js';

/** A monitor whose checks follow a script: true passes, a string or any other value fails with it. */
function monitor(failureThreshold: number, intervalMs = 1000) {
  const results: unknown[] = [];
  const changes: [boolean, string | undefined][] = [];
  let checks = 0;
  let successes = 0;
  let next: (() => Promise<void>) | undefined;
  const m = new HealthMonitor(
    { intervalMs, failureThreshold },
    {
      check: () => {
        checks++;
        if (next) return next();
        const r = results.shift() ?? true;
        return r === true ? Promise.resolve() : Promise.reject(typeof r === 'string' ? new Error(r) : r);
      },
      onSuccess: () => successes++,
      onChange: (healthy, detail) => changes.push([healthy, detail]),
    },
  );
  return {
    m,
    changes,
    /** Queues results of the next checks. */
    script: (...r: unknown[]) => results.push(...r),
    /** Replaces the check (a hanging one). */
    setCheck: (fn: (() => Promise<void>) | undefined) => (next = fn),
    get checks() {
      return checks;
    },
    get successes() {
      return successes;
    },
    /** Lets `n` intervals pass, with each check settled. */
    run: (n: number) => vi.advanceTimersByTimeAsync(n * intervalMs),
  };
}

describe('HealthMonitor', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('checks every intervalMs, starting one interval after creation', async () => {
    const h = monitor(3, 500);
    expect(h.checks).toBe(0);
    await vi.advanceTimersByTimeAsync(499);
    expect(h.checks).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.checks).toBe(1);
    await h.run(4);
    expect(h.checks).toBe(5);
    h.m.stop();
  });

  it('turns unhealthy after failureThreshold failures in a row, once, with the last failure as detail', async () => {
    const h = monitor(3);
    h.script('ECONNREFUSED 1', 'ECONNREFUSED 2');
    await h.run(2);
    expect(h.m.healthy).toBe(true);
    expect(h.changes).toEqual([]);
    h.script('connection terminated unexpectedly', 'later failure', 'later failure');
    await h.run(1);
    expect(h.m.healthy).toBe(false);
    expect(h.changes).toEqual([[false, 'connection terminated unexpectedly']]);
    await h.run(2);
    expect(h.changes).toHaveLength(1); // an outage is one event, not one per interval
    h.m.stop();
  });

  it('a success resets the count: failures must be consecutive', async () => {
    const h = monitor(3);
    h.script('a', 'b', true, 'c', 'd', true, 'e', 'f');
    await h.run(8);
    expect(h.changes).toEqual([]);
    expect(h.m.healthy).toBe(true);
    h.script('g');
    await h.run(1);
    expect(h.changes).toEqual([[false, 'g']]);
    h.m.stop();
  });

  it('is healthy again on the first success after an outage, and says so once', async () => {
    const h = monitor(2);
    h.script('down', 'down', 'down');
    await h.run(3);
    expect(h.m.healthy).toBe(false);
    await h.run(3); // passing checks
    expect(h.m.healthy).toBe(true);
    expect(h.changes).toEqual([
      [false, 'down'],
      [true, undefined],
    ]);
    // and a new outage is reported again, after the threshold
    h.script('down again');
    await h.run(1);
    expect(h.changes).toHaveLength(2);
    h.script('down again');
    await h.run(1);
    expect(h.changes.at(-1)).toEqual([false, 'down again']);
    h.m.stop();
  });

  it('calls onSuccess for every passing check and for no failing one', async () => {
    const h = monitor(5);
    h.script(true, 'x', true, 'y', 'z', true);
    await h.run(6);
    expect(h.checks).toBe(6);
    expect(h.successes).toBe(3);
    h.m.stop();
  });

  it('reports a rejection that is not an Error as its text', async () => {
    const h = monitor(1);
    h.script(42);
    await h.run(1);
    expect(h.changes).toEqual([[false, '42']]);
    h.m.stop();
  });

  it('with failureThreshold 1 the first failure is enough', async () => {
    const h = monitor(1);
    h.script('timeout');
    await h.run(1);
    expect(h.changes).toEqual([[false, 'timeout']]);
    h.m.stop();
  });

  it('stop() ends the checks', async () => {
    const h = monitor(1);
    await h.run(2);
    expect(h.checks).toBe(2);
    h.m.stop();
    await h.run(10);
    expect(h.checks).toBe(2);
    await h.m.tick(); // a tick after stop runs nothing
    expect(h.checks).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a check still running when stop() is called reports nothing when it settles', async () => {
    const h = monitor(1);
    let fail!: (e: Error) => void;
    h.setCheck(() => new Promise<void>((_, reject) => (fail = reject)));
    await h.run(1);
    expect(h.checks).toBe(1);
    h.m.stop();
    fail(new Error('too late'));
    await vi.runAllTimersAsync();
    expect(h.changes).toEqual([]);
    expect(h.m.healthy).toBe(true);
  });

  it('a check that hangs is not run again on top of itself; its late result still counts once', async () => {
    const h = monitor(2);
    let fail!: (e: Error) => void;
    h.setCheck(() => new Promise<void>((_, reject) => (fail = reject)));
    await h.run(10);
    expect(h.checks).toBe(1); // one check in flight, the ticks meanwhile skipped
    expect(h.changes).toEqual([]);
    h.setCheck(undefined);
    h.script('second failure');
    fail(new Error('hung, then failed'));
    await vi.advanceTimersByTimeAsync(0);
    expect(h.changes).toEqual([]); // one failure so far: below the threshold of 2
    await h.run(1);
    expect(h.checks).toBe(2);
    expect(h.changes).toEqual([[false, 'second failure']]);
    h.m.stop();
  });

  it('tick() while a check runs does not start a second one', async () => {
    const h = monitor(1, 60_000);
    let pass!: () => void;
    h.setCheck(() => new Promise<void>((resolve) => (pass = resolve)));
    const first = h.m.tick();
    await h.m.tick();
    expect(h.checks).toBe(1);
    pass();
    await first;
    expect(h.successes).toBe(1);
    h.m.stop();
  });
});

/** A driver whose validation (the default health check's query) never answers while `hang` is set. */
class HangingDriver extends FakeDriver {
  hang = false;
  validated = 0;
  override validate(conn: FakeConn): Promise<boolean> {
    this.validated++;
    return this.hang ? new Promise<boolean>(() => undefined) : super.validate(conn);
  }
}

function healthPool(opts: CommonPoolOptions, hooks: { healthCheck?: () => Promise<void> } = {}) {
  const lines: string[] = [];
  const rec = (m: string): void => {
    lines.push(m);
  };
  const logger: Logger = { error: rec, warn: rec, info: rec, debug: rec };
  const hub = new EventHub(undefined, logger);
  const health: EventOf<'health'>[] = [];
  hub.add((e) => {
    if (e.type === 'health') health.push(e);
  });
  const driver = new HangingDriver();
  const pool = new CorePool(driver, resolveCommonOptions({ logger, name: 'billing', ...opts }), hub, hooks);
  return { pool, driver, health, lines };
}

describe('pool health checks', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a check query that hangs fails after min(intervalMs, connectTimeoutMs): health event, log line, stats().healthy', async () => {
    const { pool, driver, health, lines } = healthPool({ max: 2, connectTimeoutMs: 5000, healthCheck: { intervalMs: 2000, failureThreshold: 1 } });
    expect(pool.healthCheckTimeoutMs).toBe(2000);
    (await pool.acquire(undefined, undefined, true)).release();
    driver.hang = true;
    await vi.advanceTimersByTimeAsync(2000); // the check starts
    expect(driver.validated).toBe(1);
    expect(health).toEqual([]);
    await vi.advanceTimersByTimeAsync(1999);
    expect(health).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(health).toHaveLength(1);
    expect(health[0]).toMatchObject({ pool: 'billing', driver: 'pg', healthy: false, detail: 'the health check query got no answer within 2000 ms' });
    expect(pool.stats().healthy).toBe(false);
    expect(lines).toContain('lifeguard: pool "billing" is unhealthy: the health check query got no answer within 2000 ms');
    // the connection that did not answer is not handed out again
    expect(pool.stats()).toMatchObject({ idle: 0, destroyed: { 'validation-failed': 1 } });
    await pool.close({ timeoutMs: 100 });
  });

  it('is healthy again on the next passing check, and says so once', async () => {
    let failing = true;
    const { pool, health, lines } = healthPool({ max: 1, healthCheck: { intervalMs: 1000, failureThreshold: 2 } }, {
      healthCheck: async () => {
        if (failing) throw new Error('ECONNREFUSED 127.0.0.1:5432');
      },
    });
    await vi.advanceTimersByTimeAsync(2000);
    expect(health.map((e) => [e.healthy, e.detail])).toEqual([[false, 'ECONNREFUSED 127.0.0.1:5432']]);
    expect(lines.filter((l) => l.includes('is unhealthy'))).toEqual(['lifeguard: pool "billing" is unhealthy: ECONNREFUSED 127.0.0.1:5432']);
    failing = false;
    await vi.advanceTimersByTimeAsync(3000);
    expect(health.map((e) => e.healthy)).toEqual([false, true]);
    expect(lines).toContain('lifeguard: pool "billing" is healthy again');
    expect(pool.stats().healthy).toBe(true);
    await pool.close({ timeoutMs: 100 });
  });

  it('healthCheck: false runs no checks', async () => {
    let checks = 0;
    const { pool } = healthPool({ max: 1, healthCheck: false }, { healthCheck: async () => void checks++ });
    await vi.advanceTimersByTimeAsync(120_000);
    expect(checks).toBe(0);
    expect(pool.stats().healthy).toBe(true);
    await pool.close({ timeoutMs: 100 });
  });

  it('close() stops the checks', async () => {
    let checks = 0;
    const { pool } = healthPool({ max: 1, healthCheck: { intervalMs: 1000, failureThreshold: 1 } }, { healthCheck: async () => void checks++ });
    await vi.advanceTimersByTimeAsync(3000);
    expect(checks).toBe(3);
    await pool.close({ timeoutMs: 100 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(checks).toBe(3);
  });
});

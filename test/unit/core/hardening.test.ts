/**
 * Issue 12, engine side: hostile sizes, odd thrown values, misbehaving listeners.
 * Each test names the defect it proves fixed.
 */
import { describe, expect, it } from 'vitest';
import { CorePool } from '../../../src/core/pool.js';
import { EventHub } from '../../../src/core/events.js';
import { resolveCommonOptions, type CommonPoolOptions } from '../../../src/core/options.js';
import type { Logger } from '../../../src/core/logger.js';
import { AcquireTimeoutError, ConfigError, QueueFullError } from '../../../src/core/errors.js';
import { holdersSummary, leakBlock } from '../../../src/core/leaks.js';
import { escapeText } from '../../../src/core/text.js';
import { formatLeakReport } from '../../../src/testing/index.js';
import { FakeDriver } from '../../helpers/fake-driver.js';

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (m: string): void => {
    lines.push(m);
  };
  return { lines, error: rec, warn: rec, info: rec, debug: rec };
}

function makePool(opts: CommonPoolOptions = {}, driver = new FakeDriver(), parent?: EventHub) {
  const logger = recorder();
  const hub = new EventHub(parent, logger);
  const pool = new CorePool(driver, resolveCommonOptions({ logger, name: 'hard', healthCheck: false, ...opts }), hub);
  return { pool, driver, hub, logger };
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc (vitest.config.ts sets it)');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

describe('waiters that time out or abort leave the queue (O(1) memory after)', () => {
  it('20,000 timed-out acquires on a full pool leave the heap within 4 MB of where it was', async () => {
    const { pool } = makePool({ max: 1, leakDetection: false, saturation: false });
    const held = await pool.acquire(undefined, undefined, false);
    const run = async (n: number): Promise<void> => {
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) all.push(pool.acquire({ timeoutMs: 5 }, undefined, false).catch((e: unknown) => e));
      const errs = await Promise.all(all);
      expect(errs.every((e) => e instanceof AcquireTimeoutError)).toBe(true);
    };
    await run(2000); // warm up code paths and their allocations
    const before = heapUsed();
    for (let round = 0; round < 10; round++) await run(2000);
    const after = heapUsed();
    expect(pool.stats().pending).toBe(0);
    // before the fix each timed-out waiter stayed in the queue (~2 KB each: ~40 MB here)
    expect(after - before).toBeLessThan(4 * 1024 * 1024);
    held.release();
    await pool.close({ timeoutMs: 0 });
  });

  it('20,000 aborted acquires leave the heap within 4 MB of where it was', async () => {
    const { pool } = makePool({ max: 1, leakDetection: false, saturation: false });
    const held = await pool.acquire(undefined, undefined, false);
    const run = async (n: number): Promise<void> => {
      const ctrl = new AbortController();
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < n; i++) all.push(pool.acquire({ signal: ctrl.signal, timeoutMs: 60_000 }, undefined, false).catch((e: unknown) => e));
      ctrl.abort(new Error('gave up'));
      await Promise.all(all);
    };
    await run(2000);
    const before = heapUsed();
    for (let round = 0; round < 10; round++) await run(2000);
    const after = heapUsed();
    expect(pool.stats().pending).toBe(0);
    expect(after - before).toBeLessThan(4 * 1024 * 1024);
    held.release();
    await pool.close({ timeoutMs: 0 });
  });

  it('a waiter with its own timeout among others times out on time, and the rest keep waiting', async () => {
    const { pool } = makePool({ max: 1 });
    const held = await pool.acquire(undefined, undefined, false);
    const long = pool.acquire({ timeoutMs: 60_000 }, undefined, false);
    const short = pool.acquire({ timeoutMs: 20 }, undefined, false);
    await expect(short).rejects.toBeInstanceOf(AcquireTimeoutError);
    expect(pool.stats().pending).toBe(1);
    held.release();
    (await long).release();
    await pool.close({ timeoutMs: 0 });
  });
});

describe('maxWaiting', () => {
  it('an acquire past maxWaiting is refused at once with QUEUE_FULL', async () => {
    const { pool } = makePool({ max: 1, maxWaiting: 2 });
    const held = await pool.acquire(undefined, undefined, false);
    const waiting = [pool.acquire(undefined, undefined, false), pool.acquire(undefined, undefined, false)];
    const err = await pool.acquire(undefined, undefined, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).code).toBe('QUEUE_FULL');
    expect((err as QueueFullError).maxWaiting).toBe(2);
    expect((err as Error).message).toMatch(/2 callers already wait.*maxWaiting 2/);
    expect(pool.stats().pending).toBe(2);
    held.release();
    for (const p of waiting) (await p).release();
    await pool.close({ timeoutMs: 0 });
  });

  it('counts only callers beyond the connections that can still be opened, and has a finite default', async () => {
    const { pool } = makePool({ max: 3, maxWaiting: 0 });
    expect(pool.options.maxWaiting).toBe(0);
    // a cold pool: three connections can be opened, so three callers may wait for them
    const leases = await Promise.all([1, 2, 3].map(() => pool.acquire(undefined, undefined, false)));
    await expect(pool.acquire(undefined, undefined, false)).rejects.toBeInstanceOf(QueueFullError);
    for (const l of leases) l.release();
    await pool.close({ timeoutMs: 0 });
    expect(resolveCommonOptions({}).maxWaiting).toBe(10_000);
  });
});

describe('a 10,000-waiter expiry', () => {
  it('expires in batches: other callbacks run between them', async () => {
    const { pool } = makePool({ max: 1 });
    const held = await pool.acquire(undefined, undefined, false);
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < 10_000; i++) all.push(pool.acquire({ timeoutMs: 30 }, undefined, false).catch((e: unknown) => e));
    let settled = 0;
    for (const p of all) void p.then(() => settled++);
    // an immediate queued when the first batch fires runs before the last batch is rejected
    let seenMidway = -1;
    const probe = (): void => {
      if (settled > 0) seenMidway = settled;
      else setImmediate(probe);
    };
    setImmediate(probe);
    await Promise.all(all);
    expect(seenMidway).toBeGreaterThan(0);
    expect(seenMidway).toBeLessThan(10_000);
    held.release();
    await pool.close({ timeoutMs: 0 });
  });
});

describe('holder summaries and reports: tags cut to a fixed size and escaped', () => {
  it('a 10 MB tag does not end up in every timeout message', async () => {
    const { pool } = makePool({ max: 1 });
    const tag = 'x'.repeat(10 * 1024 * 1024);
    const held = await pool.acquire({ tag }, undefined, false);
    const errs = await Promise.all(
      Array.from({ length: 20 }, async () => (await pool.acquire({ timeoutMs: 5, tag }, undefined, false).catch((e: unknown) => e)) as Error),
    );
    for (const e of errs) expect(e.message.length).toBeLessThan(2000);
    expect(errs[0]!.message).toMatch(/"x{120}…\(10485640 more\)"/);
    held.release();
    await pool.close({ timeoutMs: 0 });
  });

  it('control, line-separator and bidi characters in tags are escaped in text output', () => {
    const tag = 'GET /a\nlifeguard: forged line\u2028\u202Eevil\u2066';
    const info = { id: 1, pool: 'p', kind: 'lease' as const, ageMs: 5, tag, site: 'a.ts:1:1', stack: undefined };
    const summary = holdersSummary([info]);
    const block = leakBlock('held-too-long', 'pg', info, 0);
    for (const text of [summary, block]) {
      expect(text).not.toMatch(/[\n\u2028\u202E\u2066]lifeguard|\u2028|\u202E|\u2066/);
      expect(text).toContain('\\u000alifeguard: forged line\\u2028\\u202eevil\\u2066');
    }
    expect(block.split("\n")).toHaveLength(2); // header and tag: the newline in the tag forged no line
    expect(escapeText('ab\ud83d\ude00cd', 3)).toBe('ab…(4 more)'); // never half a surrogate pair
    const report = formatLeakReport([info]);
    expect(report.split('\n')).toHaveLength(2); // the header and the lease: no forged line
    expect(report).not.toMatch(/\u2028|\u202E/);
  });

  it('a pool name with a newline, U+2028 or a bidi override is a ConfigError', () => {
    for (const name of ['main\nlifeguard: forged', 'a\u2028b', 'x\u202Ey', 'tab\there']) {
      expect(() => resolveCommonOptions({ name })).toThrow(ConfigError);
    }
    expect(() => resolveCommonOptions({ app: 'app\r\n' })).toThrow(/option app must be/);
  });
});

describe('numbers past what timers and budgets can take', () => {
  it.each([
    ['healthCheck.intervalMs', { healthCheck: { intervalMs: 2 ** 31 } }],
    ['acquireTimeoutMs', { acquireTimeoutMs: 2 ** 31 }],
    ['idleTimeoutMs', { idleTimeoutMs: 2 ** 40 }],
    ['reconnect.maxMs', { reconnect: { maxMs: 2 ** 31 } }],
    ['leakDetection.thresholdMs', { leakDetection: { thresholdMs: 2 ** 31 } }],
    ['circuitBreaker.resetTimeoutMs', { circuitBreaker: { resetTimeoutMs: 2 ** 31 } }],
    ['max', { max: Number.MAX_SAFE_INTEGER }],
    ['max', { max: 2 ** 31 }],
    ['maxWaiting', { maxWaiting: -1 }],
  ])('%s out of range is a ConfigError naming it', (option, opts) => {
    let err: unknown;
    try {
      resolveCommonOptions(opts as Record<string, unknown>);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).option).toBe(option);
  });

  it('close({ timeoutMs: 2 ** 31 }) and acquire({ timeoutMs: 2 ** 31 }) are ConfigErrors, not timers that fire at once', async () => {
    const { pool } = makePool({ max: 1 });
    const held = await pool.acquire(undefined, undefined, false);
    await expect(pool.acquire({ timeoutMs: 2 ** 31 }, undefined, false)).rejects.toBeInstanceOf(ConfigError);
    await expect(pool.close({ timeoutMs: 2 ** 31 })).rejects.toBeInstanceOf(ConfigError);
    expect(pool.closing).toBe(false);
    held.release();
    await pool.close({ timeoutMs: 0 });
  });
});

describe('thrown values that are not errors', () => {
  it('a value String() cannot convert, released as the error, still closes the connection and frees its permit', async () => {
    const { pool, driver } = makePool({ max: 2 });
    for (let i = 0; i < 5; i++) {
      const lease = await pool.acquire({ timeoutMs: 500 }, undefined, false);
      lease.release(Object.create(null));
    }
    await new Promise((r) => setImmediate(r));
    expect(pool.stats().total).toBe(driver.open);
    expect(pool.stats().budget.available).toBe(2);
    expect(pool.stats().destroyed['released-with-error']).toBe(5);
    await pool.close({ timeoutMs: 0 });
    expect(driver.open).toBe(0);
  });

  it('a create() that rejects with such a value fails the waiter with an Error that keeps it as cause', async () => {
    const driver = new FakeDriver();
    const odd = Object.create(null) as object;
    driver.failWith = odd as Error;
    const { pool } = makePool({ max: 1, reconnect: { maxAttempts: 1 } }, driver);
    const err = await pool.acquire({ timeoutMs: 1000 }, undefined, false).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).cause).toBe(odd);
    await pool.close({ timeoutMs: 0 });
  });
});

describe('event listeners that fail', () => {
  it('an async listener that rejects gives no unhandled rejection; failures are logged through the pool logger, rate-limited', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (r: unknown): void => {
      unhandled.push(r);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const { pool, hub, logger } = makePool({ max: 2 });
      hub.add(async () => {
        throw new Error('metrics backend down');
      });
      for (let i = 0; i < 50; i++) (await pool.acquire(undefined, undefined, false)).release();
      await new Promise((r) => setTimeout(r, 20));
      expect(unhandled).toEqual([]);
      const failures = logger.lines.filter((l) => l.includes('event listener failed'));
      expect(failures.length).toBeGreaterThan(0);
      expect(failures.length).toBeLessThanOrEqual(5); // 100 events (acquire + release), 5 lines per 10 s
      expect(failures[0]).toMatch(/metrics backend down/);
      await pool.close({ timeoutMs: 0 });
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('a listener that throws logs at most 5 lines per 10 s, and one on the manager hub reports through the pool logger, not console', async () => {
    const manager = new EventHub(undefined, console);
    const { pool, logger } = makePool({ max: 2 }, new FakeDriver(), manager);
    const original = console.error;
    const consoleLines: unknown[] = [];
    console.error = (...args: unknown[]) => void consoleLines.push(args);
    try {
      manager.add(() => {
        throw Object.create(null); // String() throws for this one
      });
      for (let i = 0; i < 50; i++) (await pool.acquire(undefined, undefined, false)).release();
    } finally {
      console.error = original;
    }
    expect(consoleLines).toEqual([]);
    const failures = logger.lines.filter((l) => l.includes('event listener failed'));
    expect(failures.length).toBe(5);
    await pool.close({ timeoutMs: 0 });
  });
});

describe('one AbortSignal shared by many waiting acquires', () => {
  it('adds one abort listener per pool, so Node never warns about a listener leak', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const { pool } = makePool({ max: 1 });
      const held = await pool.acquire(undefined, undefined, false);
      const ctrl = new AbortController();
      const waiting = Array.from({ length: 50 }, () => pool.acquire({ signal: ctrl.signal }, undefined, false).catch((e: unknown) => e));
      ctrl.abort(new Error('request ended'));
      const errs = await Promise.all(waiting);
      expect(errs.every((e) => (e as Error).message === 'request ended')).toBe(true);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
      held.release();
      await pool.close({ timeoutMs: 0 });
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('close()', () => {
  it('is bounded by its timeout for connections still being opened', async () => {
    const driver = new FakeDriver();
    driver.gate = new Promise(() => {}); // create() never settles
    let forced = 0;
    (driver as FakeDriver & { forceClose(): void }).forceClose = () => void forced++;
    const { pool } = makePool({ max: 2 }, driver);
    const waiting = pool.acquire({ timeoutMs: 60_000 }, undefined, false).catch((e: unknown) => e);
    const started = performance.now();
    await pool.close({ timeoutMs: 50 });
    const tookMs = performance.now() - started;
    expect(forced).toBe(1);
    expect(tookMs).toBeLessThan(2000); // never-settling before the fix
    expect(await waiting).toHaveProperty('code', 'POOL_CLOSED');
  });
});

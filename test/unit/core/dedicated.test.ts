import { afterEach, describe, expect, it, vi } from 'vitest';
import { CorePool } from '../../../src/core/pool.js';
import { EventHub, type EventOf, type LifeguardEvent } from '../../../src/core/events.js';
import { resolveCommonOptions, type CommonPoolOptions } from '../../../src/core/options.js';
import type { Logger } from '../../../src/core/logger.js';
import { DedicatedTracker, type DedicatedState } from '../../../src/core/dedicated.js';
import { AcquireTimeoutError, ConfigError, ConnectionLimitError } from '../../../src/core/errors.js';
import type { SiteHolder } from '../../../src/core/site.js';
import { FakeDriver } from '../../helpers/fake-driver.js';

const cwd = process.cwd();
const workerSite = (): SiteHolder => ({ stack: `Error\n    at startWorker (${cwd}/app/worker.ts:12:5)\n    at main (${cwd}/app/main.ts:3:1)` });

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const rec = (m: string): void => {
    lines.push(m);
  };
  return { lines, error: rec, warn: rec, info: rec, debug: rec };
}

const opened: CorePool<never, never>[] = [];

function setup(opts: CommonPoolOptions = {}) {
  const driver = new FakeDriver();
  const logger = recorder();
  const hub = new EventHub(undefined, logger);
  const events: LifeguardEvent[] = [];
  hub.add((e) => events.push(e));
  const pool = new CorePool(
    driver,
    resolveCommonOptions({ logger, name: 'jobs', healthCheck: false, leakDetection: { captureStacks: 'always' }, ...opts }),
    hub,
  );
  opened.push(pool as unknown as CorePool<never, never>);
  const tracker = new DedicatedTracker(pool as unknown as CorePool<never, never>);
  /** Connections "opened" for dedicated states: close() calls on each. */
  const closes: number[] = [];
  /** A state created at app/worker.ts:12:5 (or at `site`), whose connection closes at once (or as `close` says). */
  const state = (
    kind: DedicatedState['kind'],
    tag?: string,
    o: { site?: SiteHolder | undefined; close?: (timeoutMs?: number) => Promise<void> } = {},
  ): DedicatedState => {
    const site = 'site' in o ? o.site : workerSite();
    const close = o.close ?? (async () => undefined);
    const s: DedicatedState = tracker.newState(kind, site, tag, (ms) => {
      closes.push(s.id);
      return close(ms);
    });
    return s;
  };
  const lost = () => events.filter((e): e is EventOf<'leak'> => e.type === 'leak' && e.kind === 'subscriber-lost');
  return { pool, driver, tracker, logger, events, closes, state, lost };
}

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(opened.splice(0).map((p) => p.close({ timeoutMs: 1000 })));
});

/** Collects garbage until `done()` or `rounds` collections, letting finalizers run in between. */
async function collect(rounds: number, done: () => boolean = () => false): Promise<void> {
  for (let i = 0; i < rounds && !done(); i++) {
    globalThis.gc!();
    await new Promise((r) => setImmediate(r));
  }
}

describe('DedicatedTracker: the budget', () => {
  it('reserve takes a permit of the pool budget for its kind', async () => {
    const { pool, tracker } = setup({ max: 3 });
    await tracker.reserve('subscriber', 1000, 'subscriber');
    await tracker.reserve('dedicated', 1000, 'dedicated');
    expect(pool.stats().budget).toMatchObject({ available: 1, subscriber: 1, dedicated: 1, pooled: 0 });
  });

  it('reserve on a full budget waits, and a released lease is closed to make room for it', async () => {
    const { pool, tracker, driver } = setup({ max: 1 });
    const lease = await pool.acquire(undefined, undefined, true);
    let done = false;
    const reserving = tracker.reserve('dedicated', 5000, 'dedicated').then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    expect(pool.budget.waitingNonPooled).toBe(1);
    lease.release();
    await reserving;
    expect(pool.stats().budget).toMatchObject({ pooled: 0, dedicated: 1 });
    expect(pool.stats().destroyed.budget).toBe(1);
    expect(driver.open).toBe(0);
  });

  it('reserve closes an idle pooled connection to take its permit', async () => {
    const { pool, tracker, driver } = setup({ max: 1 });
    (await pool.acquire(undefined, undefined, true)).release();
    expect(pool.stats().idle).toBe(1);
    await tracker.reserve('listener', 5000, 'listener');
    expect(pool.stats().idle).toBe(0);
    expect(driver.closed).toBe(1);
    expect(pool.stats().budget).toMatchObject({ pooled: 0, listener: 1, available: 0 });
  });

  it('reserve times out with ACQUIRE_TIMEOUT that says what holds the budget, and leaves no claim behind', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { pool, tracker, state } = setup({ max: 2 });
    const lease = await pool.acquire({ tag: 'GET /report' }, undefined, true);
    await tracker.reserve('subscriber', 1000, 'subscriber');
    tracker.track({}, state('subscriber', 'events worker'));
    const reserving = tracker.reserve('listener', 250, 'listener').catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(250);
    const err = (await reserving) as AcquireTimeoutError;
    expect(err).toBeInstanceOf(AcquireTimeoutError);
    expect(err).toMatchObject({ code: 'ACQUIRE_TIMEOUT', pool: 'jobs', reason: 'pool-full', snapshot: { active: 1, idle: 0, max: 2 } });
    expect(err.message).toContain('pool "jobs": no connection for a listener within 250 ms');
    expect(err.message).toContain(
      'the budget of 2 is held by 1 pooled (1 in use, 0 idle), 0 shared, 1 subscriber, 0 listener and 0 dedicated connections',
    );
    expect(err.message).toMatch(/longest holders: .*subscriber #1 at app\/worker\.ts:12:5/);
    expect(err.message).toMatch(/longest holders: .*lease #\d+ at /);
    expect(pool.budget.waitingNonPooled).toBe(0);
    // nobody waits for the budget any more: the released lease stays in the pool
    lease.release();
    expect(pool.stats()).toMatchObject({ idle: 1, destroyed: { budget: 0 } });
    expect(pool.stats().budget).toMatchObject({ pooled: 1, subscriber: 1, listener: 0 });
  });

  it('reserve refuses a timeoutMs that is not an integer from 1, naming the option, and takes nothing', async () => {
    const { pool, tracker } = setup({ max: 2 });
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
      const err = await tracker.reserve('subscriber', bad, 'subscriber()').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect(err).toMatchObject({ code: 'CONFIG_INVALID', option: 'timeoutMs' });
      expect((err as Error).message).toContain('pool "jobs": subscriber() option timeoutMs must be an integer from 1');
    }
    expect(pool.stats().budget).toMatchObject({ available: 2, subscriber: 0 });
  });

  it('limitError names the server limit, the cause and what this pool holds', async () => {
    const { pool, tracker } = setup({ max: 4 });
    const lease = await pool.acquire(undefined, undefined, true);
    await tracker.reserve('subscriber', 1000, 'subscriber');
    const cause = new Error('ERR max number of clients reached');
    const err = tracker.limitError('subscriber', cause);
    expect(err).toBeInstanceOf(ConnectionLimitError);
    expect(err).toMatchObject({ code: 'CONNECTION_LIMIT', pool: 'jobs', ceiling: undefined, cause });
    expect(err.message).toContain(
      'pool "jobs": no subscriber connection: the server refused it at its connection limit (ERR max number of clients reached)',
    );
    expect(err.message).toContain('this pool holds 1 pooled (1 in use, 0 idle), 0 shared, 1 subscriber, 0 listener and 0 dedicated connections');
    expect(err.message).not.toContain('capped');
    expect(err.message).toMatch(/Close idle subscribers\/listeners, lower max, or raise the server's limit$/);
    expect(tracker.limitError('dedicated', 'too many clients').message).toContain('(too many clients)');
    lease.release();
  });
});

describe('DedicatedTracker: list and close', () => {
  it('list() shows each open connection with id, kind, tag, site, channels, patterns and age', async () => {
    const { tracker, state } = setup({ max: 4 });
    const sub = state('subscriber', 'events worker');
    sub.channels.add('orders');
    sub.patterns.add('user:*');
    sub.lastMessageAt = 1234;
    const keepSub = {};
    tracker.track(keepSub, sub);
    const ded = state('dedicated', undefined, { site: undefined });
    const keepDed = {};
    tracker.track(keepDed, ded);
    const list = tracker.list();
    expect(list).toHaveLength(2);
    expect(list[0]).toMatchObject({
      id: sub.id,
      pool: 'jobs',
      kind: 'subscriber',
      tag: 'events worker',
      site: 'app/worker.ts:12:5',
      channels: ['orders'],
      patterns: ['user:*'],
      lastMessageAt: 1234,
    });
    expect(list[0]!.ageMs).toBeGreaterThanOrEqual(0);
    expect(list[0]!.stack).toContain('app/main.ts:3:1');
    expect(list[1]).toMatchObject({ id: ded.id, kind: 'dedicated', tag: undefined, site: undefined, noSite: 'not-sampled', channels: [] });
    expect(ded.id).toBe(sub.id + 1);
  });

  it('close() closes the connection and gives the permit back once, however often it is called', async () => {
    const { pool, tracker, state, closes } = setup({ max: 2 });
    await tracker.reserve('subscriber', 1000, 'subscriber');
    const s = state('subscriber');
    const handle = {};
    tracker.track(handle, s);
    await Promise.all([tracker.close(s, 'subscriber'), tracker.close(s, 'subscriber')]);
    await tracker.close(s, 'subscriber');
    expect(closes).toEqual([s.id]);
    expect(s.closed).toBe(true);
    expect(tracker.list()).toEqual([]);
    expect(pool.stats().budget).toMatchObject({ available: 2, subscriber: 0 });
  });

  it('close() passes its timeout to the connection, and gives the permit back even when closing fails', async () => {
    const { pool, tracker, state } = setup({ max: 1 });
    await tracker.reserve('listener', 1000, 'listener');
    const timeouts: (number | undefined)[] = [];
    const s = state('listener', undefined, {
      close: async (ms) => {
        timeouts.push(ms);
        throw new Error('socket already destroyed');
      },
    });
    tracker.track({}, s);
    await expect(tracker.close(s, 'listener', 750)).rejects.toThrow('socket already destroyed');
    expect(timeouts).toEqual([750]);
    expect(pool.stats().budget).toMatchObject({ available: 1, listener: 0 });
  });

  it('closeAll() closes everything, returns what was open and frees the budget', async () => {
    const { pool, tracker, state, closes } = setup({ max: 3 });
    const states = [state('subscriber', 'a'), state('listener', 'b'), state('dedicated', 'c')];
    for (const s of states) {
      await tracker.reserve(s.kind, 1000, s.kind);
      tracker.track({}, s);
    }
    expect(pool.budget.available).toBe(0);
    const open = await tracker.closeAll();
    expect(open.map((i) => [i.kind, i.tag])).toEqual([
      ['subscriber', 'a'],
      ['listener', 'b'],
      ['dedicated', 'c'],
    ]);
    expect(closes.sort()).toEqual(states.map((s) => s.id).sort());
    expect(tracker.list()).toEqual([]);
    expect(pool.stats().budget).toMatchObject({ available: 3, subscriber: 0, listener: 0, dedicated: 0 });
    expect(await tracker.closeAll()).toEqual([]);
  });

  it('closeAll(timeoutMs) resolves by then although a connection hangs in close; its permit comes back when it does close', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { pool, tracker, state } = setup({ max: 2 });
    let finish!: () => void;
    const hung = state('subscriber', 'hung', { close: () => new Promise<void>((r) => (finish = r)) });
    const fine = state('dedicated', 'fine');
    for (const s of [hung, fine]) {
      await tracker.reserve(s.kind, 1000, s.kind);
      tracker.track({}, s);
    }
    let result: unknown;
    void tracker.closeAll(500).then((r) => (result = r));
    await vi.advanceTimersByTimeAsync(499);
    expect(result).toBeUndefined();
    expect(pool.stats().budget).toMatchObject({ dedicated: 0, subscriber: 1 });
    await vi.advanceTimersByTimeAsync(1);
    expect((result as { tag: string }[]).map((i) => i.tag)).toEqual(['hung', 'fine']);
    expect(tracker.list()).toEqual([]);
    expect(pool.stats().budget).toMatchObject({ subscriber: 1, available: 1 });
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(pool.stats().budget).toMatchObject({ subscriber: 0, available: 2 });
  });
});

/**
 * A handle the test does not keep: `collected()` turns true once it was garbage-collected
 * (a registry of the test's own, since WeakRef.deref() keeps its target alive for the
 * rest of the job, and collect() would then never see it go).
 */
interface Dropped {
  collected(): boolean;
  /** The handle while it is alive (call it only where a strong reference is wanted). */
  ref: WeakRef<object>;
}
const gone = new Set<string>();
const watcher = new FinalizationRegistry<string>((key) => gone.add(key));
let handles = 0;

// Each helper creates its handle in its own frame and returns no strong reference to it.
function trackDropped(tracker: DedicatedTracker, s: DedicatedState, subscribed = false, before?: () => void): Dropped {
  const handle = { name: 'handle' };
  const key = `h${++handles}`;
  watcher.register(handle, key);
  tracker.track(handle, s);
  before?.();
  if (subscribed) tracker.hold(handle, s, true);
  return { collected: () => gone.has(key), ref: new WeakRef(handle) };
}
function unsubscribe(tracker: DedicatedTracker, s: DedicatedState, d: Dropped): void {
  tracker.hold(d.ref.deref()!, s, false);
}

describe('DedicatedTracker: handles dropped without close()', () => {
  it('is reported as subscriber-lost with its site, closed, and its permit given back', async () => {
    const { pool, tracker, state, closes, lost, logger } = setup({ max: 2 });
    await tracker.reserve('subscriber', 1000, 'subscriber');
    const s = state('subscriber', 'events worker');
    trackDropped(tracker, s);
    await collect(200, () => lost().length > 0);
    expect(lost()).toHaveLength(1);
    expect(lost()[0]).toMatchObject({
      pool: 'jobs',
      driver: 'pg',
      lease: { id: s.id, kind: 'subscriber', tag: 'events worker', site: 'app/worker.ts:12:5' },
    });
    expect(closes).toEqual([s.id]);
    expect(s.closed).toBe(true);
    expect(tracker.list()).toEqual([]);
    expect(pool.meter.leaks['subscriber-lost']).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(pool.stats().budget).toMatchObject({ available: 2, subscriber: 0 });
    const line = logger.lines.find((l) => l.startsWith('lifeguard: leak (subscriber-lost)'));
    expect(line).toBeDefined();
    expect(line!.split('\n')[0]).toMatch(
      /^lifeguard: leak \(subscriber-lost\) in pg pool "jobs": subscriber #\d+ was garbage-collected without close\(\) after \d+ ms; its connection was closed$/,
    );
    expect(line).toContain('  tag: "events worker"');
    expect(line).toContain(`at startWorker (${cwd}/app/worker.ts:12:5)`);
  });

  it('a handle closed before it was dropped is not reported', async () => {
    const { tracker, state, lost } = setup({ max: 2 });
    await tracker.reserve('dedicated', 1000, 'dedicated');
    const s = state('dedicated', 'closed properly');
    const h = trackDropped(tracker, s);
    await tracker.close(s, 'dedicated');
    await collect(200, h.collected);
    expect(h.collected()).toBe(true);
    await collect(5);
    expect(lost()).toEqual([]);
  });

  it('a handle with an active subscription is held until it unsubscribes; dropped after that, it is reported', async () => {
    const { tracker, state, lost, closes } = setup({ max: 2 });
    await tracker.reserve('subscriber', 1000, 'subscriber');
    const s = state('subscriber', 'orders listener');
    const h = trackDropped(tracker, s, true);
    await collect(20);
    expect(h.collected()).toBe(false); // collections ran, yet the tracker keeps it alive
    expect(lost()).toEqual([]);
    expect(closes).toEqual([]);
    expect(tracker.list().map((i) => i.tag)).toEqual(['orders listener']);

    unsubscribe(tracker, s, h);
    await collect(200, () => lost().length > 0);
    expect(lost().map((e) => e.lease.tag)).toEqual(['orders listener']);
    expect(closes).toEqual([s.id]);
  });

  it('close() lets go of a subscribed handle', async () => {
    const { tracker, state, lost, closes } = setup({ max: 2 });
    await tracker.reserve('listener', 1000, 'listener');
    const s = state('listener');
    const h = trackDropped(tracker, s, true);
    await tracker.close(s, 'listener');
    await collect(200, h.collected);
    expect(h.collected()).toBe(true);
    expect(lost()).toEqual([]);
    expect(closes).toEqual([s.id]);
  });

  it('hold() after close() (a subscribe racing close) does not keep the handle alive', async () => {
    const { tracker, state, lost } = setup({ max: 2 });
    await tracker.reserve('subscriber', 1000, 'subscriber');
    const s = state('subscriber');
    const h = trackDropped(tracker, s, true, () => void tracker.close(s, 'subscriber'));
    await collect(200, h.collected);
    expect(h.collected()).toBe(true);
    expect(lost()).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import type { LeaseInfo } from '../../../src/core/events.js';
import { Conn, LeaseRecord } from '../../../src/core/lease.js';
import {
  afterSites,
  describeSite,
  formatDuration,
  holdersSummary,
  leakBlock,
  leaseInfo,
  siteOrReason,
  type SiteContext,
  type SiteSource,
} from '../../../src/core/leaks.js';
import { ScopedCall } from '../../../src/core/scoped.js';
import { noSiteText, type SiteHolder } from '../../../src/core/site.js';

const cwd = process.cwd();
const holder = (...frames: string[]): SiteHolder => ({ stack: ['Error', ...frames.map((f) => `    at ${f}`)].join('\n') });
const appStack = () =>
  holder(
    `PostgresDriver.acquireConnection (${cwd}/node_modules/kysely/dist/esm/driver.js:21:41)`,
    `async getUser (${cwd}/app/routes/users.ts:41:7)`,
    `async handle (${cwd}/app/server.ts:12:3)`,
  );
const depOnly = () => holder(`x (${cwd}/node_modules/@prisma/client/runtime/client.js:1:2)`);

const sampled: SiteContext = { ignore: [], missing: 'not-sampled' };
const off: SiteContext = { ignore: [], missing: 'capture-off' };

function record(id: number, acquiredAt: number, site: SiteSource | undefined, tag?: string): LeaseRecord<unknown> {
  return new LeaseRecord(id, {}, new Conn(1, {}, 0, Infinity), acquiredAt, site, tag);
}

function info(over: Partial<LeaseInfo>): LeaseInfo {
  return { id: 1, pool: 'orders', kind: 'lease', ageMs: 0, tag: undefined, site: undefined, stack: undefined, noSite: 'capture-off', ...over };
}

describe('formatDuration', () => {
  it('milliseconds below a second, one decimal below ten seconds, whole seconds above', () => {
    expect(formatDuration(0)).toBe('0 ms');
    expect(formatDuration(420.4)).toBe('420 ms');
    expect(formatDuration(999)).toBe('999 ms');
    expect(formatDuration(1000)).toBe('1.0 s');
    expect(formatDuration(9800)).toBe('9.8 s');
    expect(formatDuration(10_000)).toBe('10 s');
    expect(formatDuration(61_400)).toBe('61 s');
    expect(formatDuration(3_600_000)).toBe('3600 s');
  });
});

describe('describeSite / siteOrReason', () => {
  it('names the first application frame, relative to the working directory, with the stack from there', () => {
    const d = describeSite(appStack(), sampled);
    expect(d.site).toBe('app/routes/users.ts:41:7');
    expect(d.noSite).toBeUndefined();
    const lines = d.stack!.split('\n');
    expect(lines[0]).toBe(`    at async getUser (${cwd}/app/routes/users.ts:41:7)`);
    expect(lines[1]).toContain('app/server.ts:12:3');
    expect(lines[2]).toMatch(/^ {4}\(via PostgresDriver\.acquireConnection .*kysely/);
  });

  it('applies the pool ignoreFrames', () => {
    expect(describeSite(appStack(), { ignore: ['app/routes/users.ts'], missing: 'not-sampled' }).site).toBe('app/server.ts:12:3');
  });

  it('without a capture, says why: capture off or not sampled', () => {
    expect(describeSite(undefined, off)).toEqual({ site: undefined, stack: undefined, noSite: 'capture-off' });
    expect(describeSite(undefined, sampled)).toEqual({ site: undefined, stack: undefined, noSite: 'not-sampled' });
    expect(siteOrReason(undefined, off)).toBe(`an unrecorded site (${noSiteText('capture-off')})`);
    expect(siteOrReason(undefined, off)).toContain('leakDetection.captureStacks: false');
    expect(siteOrReason(undefined, sampled)).toContain('was not sampled');
  });

  it('a capture of only dependency frames has no site but keeps the stack', () => {
    const d = describeSite(depOnly(), sampled);
    expect(d.site).toBeUndefined();
    expect(d.noSite).toBe('no-application-frame');
    expect(d.stack).toContain('@prisma/client');
    expect(siteOrReason(depOnly(), sampled)).toBe(`an unrecorded site (${noSiteText('no-application-frame')})`);
  });

  it("a capture of only lifeguard's own and Node's frames has neither site nor stack", () => {
    const own = holder(`CorePool.acquire (${cwd}/src/core/pool.ts:391:5)`, 'process.processTicksAndRejections (node:internal/process/task_queues:95:5)');
    expect(describeSite(own, sampled)).toEqual({ site: undefined, stack: undefined, noSite: 'no-application-frame' });
    const block = leakBlock('held-too-long', 'pg', leaseInfo(record(1, 0, own), 'orders', 10, sampled), 0).split('\n');
    expect(block).toEqual([
      'lifeguard: leak (held-too-long) in pg pool "orders": lease #1 held for 10 ms without release',
      '  tag: (none)',
      `  acquired at: (${noSiteText('no-application-frame')})`,
    ]);
  });

  it('siteOrReason is the bare file:line:col when there is a site', () => {
    expect(siteOrReason(appStack(), sampled)).toBe('app/routes/users.ts:41:7');
  });

  it('scoped calls: no attribution is the pool reason, not yet woken is pending, woken but not awaited says so', async () => {
    expect(describeSite(new ScopedCall(false, 10), sampled).noSite).toBe('not-sampled');
    expect(describeSite(new ScopedCall(false, 10), off).noSite).toBe('capture-off');
    const running = new ScopedCall(true, 10);
    expect(describeSite(running, sampled).noSite).toBe('pending');
    expect(siteOrReason(running, sampled)).toContain('site pending: the call is still running');
    const unawaited = new ScopedCall(true, 10);
    void unawaited.promise.catch(() => undefined);
    unawaited.wake();
    await Promise.resolve();
    await Promise.resolve();
    expect(unawaited.site).toBeDefined();
    const d = describeSite(unawaited, sampled);
    expect(d.noSite).toBe('not-awaited');
    expect(siteOrReason(unawaited, sampled)).toContain('the call was not awaited');
  });
});

describe('leaseInfo', () => {
  it('carries id, pool, rounded age, tag and site of the lease', () => {
    const rec = record(7, 1000, appStack(), 'GET /users');
    const i = leaseInfo(rec, 'orders', 10_800.6, sampled);
    expect(i).toMatchObject({ id: 7, pool: 'orders', kind: 'lease', ageMs: 9801, tag: 'GET /users', site: 'app/routes/users.ts:41:7' });
    expect(i.noSite).toBeUndefined();
    expect(i.stack).toContain('app/server.ts:12:3');
    expect(Object.isFrozen(i)).toBe(true);
  });

  it('a lease that ran LISTEN is a listener; the kind can be given', () => {
    const rec = record(3, 0, undefined);
    expect(leaseInfo(rec, 'p', 5, off, 'dedicated').kind).toBe('dedicated');
    rec.listening = true;
    expect(leaseInfo(rec, 'p', 5, off, 'dedicated').kind).toBe('listener');
  });

  it('without a site, noSite says why', () => {
    expect(leaseInfo(record(1, 0, undefined), 'p', 1, off)).toMatchObject({ site: undefined, stack: undefined, noSite: 'capture-off' });
    expect(leaseInfo(record(1, 0, new ScopedCall(true, 10)), 'p', 1, off).noSite).toBe('pending');
  });
});

describe('holdersSummary', () => {
  it('is "none" with no holders', () => {
    expect(holdersSummary([])).toBe('none');
  });

  it('groups by site, oldest group first, with count, oldest age and up to 3 distinct tags', () => {
    const infos = [
      info({ site: 'src/jobs/sync.ts:88', ageMs: 2000 }),
      info({ site: 'src/routes/users.ts:41', ageMs: 9800, tag: 'GET /users' }),
      info({ site: 'src/routes/users.ts:41', ageMs: 300, tag: 'GET /users' }),
      info({ site: 'src/routes/users.ts:41', ageMs: 5000, tag: 'GET /users/:id' }),
      info({ site: 'src/jobs/sync.ts:88', ageMs: 1500 }),
    ];
    expect(holdersSummary(infos)).toBe(
      '3× src/routes/users.ts:41 (oldest 9.8 s, "GET /users", "GET /users/:id"), 2× src/jobs/sync.ts:88 (oldest 2.0 s)',
    );
  });

  it('keeps at most 3 tags per site', () => {
    const infos = ['a', 'b', 'c', 'd'].map((tag) => info({ site: 's.ts:1', ageMs: 10, tag }));
    expect(holdersSummary(infos)).toBe('4× s.ts:1 (oldest 10 ms, "a", "b", "c")');
  });

  it('groups leases without a site by the reason, in short words', () => {
    const infos = [
      info({ noSite: 'capture-off', ageMs: 100 }),
      info({ noSite: 'capture-off', ageMs: 200 }),
      info({ noSite: 'pending', ageMs: 50 }),
      info({ noSite: 'not-sampled', ageMs: 40 }),
    ];
    const s = holdersSummary(infos);
    expect(s).toBe(
      '2× an unrecorded site (capture off) (oldest 200 ms), 1× an unrecorded site (site pending) (oldest 50 ms), ' +
        '1× an unrecorded site (not sampled) (oldest 40 ms)',
    );
  });

  it('on equal age, the larger group comes first', () => {
    const infos = [info({ site: 'a.ts:1', ageMs: 100 }), info({ site: 'b.ts:1', ageMs: 100 }), info({ site: 'b.ts:1', ageMs: 100 })];
    expect(holdersSummary(infos)).toBe('2× b.ts:1 (oldest 100 ms), 1× a.ts:1 (oldest 100 ms)');
  });

  it('lists maxGroups sites and counts the rest', () => {
    const infos = Array.from({ length: 8 }, (_, i) => info({ site: `f${i}.ts:1`, ageMs: 1000 - i }));
    const s = holdersSummary(infos, 3);
    expect(s).toBe('1× f0.ts:1 (oldest 1.0 s), 1× f1.ts:1 (oldest 999 ms), 1× f2.ts:1 (oldest 998 ms), 5 more sites');
    expect(holdersSummary(infos).split(', ')).toHaveLength(6); // 5 by default, then "3 more sites"
    expect(holdersSummary(infos)).toMatch(/, 3 more sites$/);
  });
});

describe('leakBlock', () => {
  const withSite = () => leaseInfo(record(42, 0, appStack(), 'GET /users'), 'orders', 9800, sampled);

  it('held-too-long: pool, driver, lease id and age in the first line, then tag and the site with its callers', () => {
    const lines = leakBlock('held-too-long', 'pg', withSite(), 0).split('\n');
    expect(lines[0]).toBe('lifeguard: leak (held-too-long) in pg pool "orders": lease #42 held for 9.8 s without release');
    expect(lines[1]).toBe('  tag: "GET /users"');
    expect(lines[2]).toBe('  acquired at:');
    expect(lines[3]).toBe(`    at async getUser (${cwd}/app/routes/users.ts:41:7)`);
    expect(lines[4]).toContain('app/server.ts:12:3');
    expect(lines[5]).toMatch(/^ {4}\(via .*kysely/);
    expect(lines).toHaveLength(6);
  });

  it('says what happened for each kind of leak', () => {
    const i = withSite();
    expect(leakBlock('lost', 'pg', i, 0).split('\n')[0]).toBe(
      'lifeguard: leak (lost) in pg pool "orders": lease #42 was garbage-collected without release after 9.8 s; its connection was closed',
    );
    expect(leakBlock('unreleased-at-close', 'redis', i, 0).split('\n')[0]).toBe(
      'lifeguard: leak (unreleased-at-close) in redis pool "orders": lease #42 was still held after 9.8 s when the pool closed; it was forced',
    );
    const sub = { ...i, kind: 'subscriber' as const, id: 5, ageMs: 61_000 };
    expect(leakBlock('subscriber-lost', 'redis', sub, 0).split('\n')[0]).toBe(
      'lifeguard: leak (subscriber-lost) in redis pool "orders": subscriber #5 was garbage-collected without close() after 61 s; its connection was closed',
    );
  });

  it('without a tag or a site: "(none)" and the reason instead of the site', () => {
    const i = leaseInfo(record(9, 0, undefined), 'cache', 420, off);
    expect(leakBlock('held-too-long', 'redis', i, 0).split('\n')).toEqual([
      'lifeguard: leak (held-too-long) in redis pool "cache": lease #9 held for 420 ms without release',
      '  tag: (none)',
      `  acquired at: (${noSiteText('capture-off')})`,
    ]);
  });

  it('with only dependency frames: the reason, then the stack it did see', () => {
    const i = leaseInfo(record(2, 0, depOnly()), 'orders', 1500, sampled);
    const lines = leakBlock('held-too-long', 'pg', i, 0).split('\n');
    expect(lines[2]).toBe(`  acquired at: (${noSiteText('no-application-frame')})`);
    expect(lines[3]).toBe('  stack:');
    expect(lines[4]).toContain('node_modules/@prisma/client');
  });

  it('counts suppressed similar reports', () => {
    expect(leakBlock('held-too-long', 'pg', withSite(), 12)).toMatch(/\n {2}\(12 similar reports were suppressed\)$/);
    expect(leakBlock('held-too-long', 'pg', withSite(), 0)).not.toContain('suppressed');
  });

  it('a listener lease is named as one', () => {
    const rec = record(4, 0, undefined);
    rec.listening = true;
    expect(leakBlock('held-too-long', 'pg', leaseInfo(rec, 'jobs', 20_000, off), 0)).toContain('pg pool "jobs": listener #4 held for 20 s');
  });
});

describe('afterSites', () => {
  it('reports at once when no scoped call needs waking', () => {
    let ran = false;
    afterSites([{ site: appStack() }, { site: undefined }, { site: new ScopedCall(false, 10) }], () => (ran = true));
    expect(ran).toBe(true);
  });

  it('wakes running scoped calls and reports once their sites are taken', async () => {
    const call = new ScopedCall<number>(true, 10);
    const caller = async () => (await call.promise) + 1; // SITE-AWAIT
    const result = caller();
    let site: string | undefined;
    afterSites([{ site: call }], () => (site = describeSite(call, sampled).site));
    expect(site).toBeUndefined();
    await new Promise<void>((resolve) => queueMicrotask(resolve));
    expect(site).toMatch(/^test\/unit\/core\/leaks\.test\.ts:\d+:\d+$/);
    call.resolve(41);
    await expect(result).resolves.toBe(42);
  });
});

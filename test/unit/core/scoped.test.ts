/**
 * Site capture on real stacks (captureSite, ScopedCall): which line a report names.
 * Expected lines are found through the `MARK-…` comments in this file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { captureSite, formatSite, parseSite, siteText, stackText, type SiteHolder } from '../../../src/core/site.js';
import { ScopedCall } from '../../../src/core/scoped.js';
import { describeSite } from '../../../src/core/leaks.js';

const FILE = 'test/unit/core/scoped.test.ts';
const source = readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
/** `file:line:` of the line carrying `marker`. */
const at = (marker: string): string => `${FILE}:${source.findIndex((l) => l.includes(`// ${marker}`)) + 1}:`;
const site = (h: SiteHolder | undefined, ignore: (string | RegExp)[] = []) => (h === undefined ? undefined : siteText(parseSite(h, ignore)));
const microtasks = async (n = 3) => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

// a public lifeguard method, as the pool passes it to captureSite
function acquire(limit = 10): SiteHolder {
  return captureSite(acquire, limit);
}
function appCode(limit?: number): SiteHolder {
  return acquire(limit); // MARK-APP
}
function dbHelper(): SiteHolder {
  return acquire(); // MARK-HELPER
}
function route(): SiteHolder {
  return dbHelper(); // MARK-ROUTE
}

describe('captureSite', () => {
  it('names the line that called the public method, not the method itself', () => {
    const h = appCode();
    expect(site(h)).toMatch(new RegExp(`^${at('MARK-APP')}\\d+$`));
    expect(formatSite(appCode())).toMatch(new RegExp(`^${at('MARK-APP')}\\d+$`));
    expect(formatSite(undefined)).toBeUndefined();
  });

  it('the stack starts at that line and goes on with its callers', () => {
    const lines = stackText(parseSite(route(), []))!.split('\n');
    expect(lines[0]).toContain(at('MARK-HELPER'));
    expect(lines[1]).toContain(at('MARK-ROUTE'));
    expect(lines.every((l) => !l.includes('src/core/site.ts'))).toBe(true);
  });

  it('ignoreFrames passes over a team helper to the code that called it', () => {
    expect(site(route())).toContain(at('MARK-HELPER'));
    expect(site(route(), [/dbHelper/])).toContain(at('MARK-ROUTE'));
    expect(site(route(), [`${FILE}:${source.findIndex((l) => l.includes('// MARK-HELPER')) + 1}:`])).toContain(at('MARK-ROUTE'));
  });

  it('keeps at most limit frames, and leaves Error.stackTraceLimit as it was', () => {
    const before = Error.stackTraceLimit;
    expect(parseSite(appCode(1), []).frames).toHaveLength(1);
    expect(site(appCode(1))).toContain(at('MARK-APP'));
    expect(parseSite(appCode(3), []).frames.length).toBeGreaterThan(1);
    expect(Error.stackTraceLimit).toBe(before);
  });

  it('parses once: the raw text is dropped and later calls return the same result', () => {
    const h = appCode();
    const first = parseSite(h, []);
    expect(h.stack).toBeUndefined();
    expect(parseSite(h, [/anything/])).toBe(first);
  });
});

describe('ScopedCall', () => {
  it('resolves and rejects like a plain promise when not woken', async () => {
    const ok = new ScopedCall<number>(true, 10);
    ok.resolve(7);
    await expect(ok.promise).resolves.toBe(7);
    expect(ok.site).toBeUndefined();
    const bad = new ScopedCall<number>(true, 10);
    bad.reject(new Error('relation "users" does not exist'));
    await expect(bad.promise).rejects.toThrow('relation "users" does not exist');
    expect(bad.site).toBeUndefined();
  });

  it('woken while awaited, it captures the awaiting line a microtask later, and the caller still gets the result', async () => {
    const call = new ScopedCall<string>(true, 10);
    const handler = async () => {
      const rows = await call.promise; // MARK-AWAIT
      return `got ${rows}`;
    };
    const result = handler();
    call.wake();
    expect(call.site).toBeUndefined(); // not yet: a microtask later
    await microtasks();
    expect(site(call.site)).toMatch(new RegExp(`^${at('MARK-AWAIT')}\\d+$`));
    call.resolve('3 rows');
    await expect(result).resolves.toBe('got 3 rows');
  });

  it('the site of a call awaited through helpers is the first application frame, with the callers after it', async () => {
    const call = new ScopedCall<number>(true, 10);
    const query = async () => await call.promise; // MARK-QUERY
    const getUser = async () => (await query()) + 1; // MARK-GETUSER
    const result = getUser();
    call.wake();
    await microtasks();
    const parsed = parseSite(call.site!, []);
    expect(siteText(parsed)).toContain(at('MARK-QUERY'));
    expect(stackText(parsed)).toContain(at('MARK-GETUSER'));
    expect(siteText(parseSite(call.site!, []))).toContain(at('MARK-QUERY'));
    call.resolve(1);
    await expect(result).resolves.toBe(2);
  });

  it('an error after waking reaches the caller', async () => {
    const call = new ScopedCall<number>(true, 10);
    const result = (async () => await call.promise)();
    call.wake();
    await microtasks();
    call.reject(new Error('canceling statement due to statement timeout'));
    await expect(result).rejects.toThrow('statement timeout');
  });

  it('a result that arrives before the woken capture ran still reaches the caller', async () => {
    const call = new ScopedCall<number>(true, 10);
    const result = (async () => await call.promise)();
    call.wake();
    call.resolve(5);
    await expect(result).resolves.toBe(5);
    expect(call.site).toBeDefined();
  });

  it('wake() twice captures once; wake() after the call settled does nothing', async () => {
    const call = new ScopedCall<number>(true, 10);
    const result = (async () => await call.promise)();
    call.wake();
    await microtasks();
    const first = call.site;
    call.wake();
    await microtasks();
    expect(call.site).toBe(first);
    call.resolve(1);
    await result;

    const settled = new ScopedCall<number>(true, 10);
    settled.resolve(2);
    settled.wake();
    await microtasks();
    expect(settled.site).toBeUndefined();
    await expect(settled.promise).resolves.toBe(2);
  });

  it('a call nobody awaits has no caller to name: "not-awaited"', async () => {
    const call = new ScopedCall<number>(true, 10);
    void call.promise.then(() => undefined);
    call.wake();
    await microtasks();
    expect(site(call.site)).toBeUndefined();
    expect(describeSite(call, { ignore: [], missing: 'not-sampled' }).noSite).toBe('not-awaited');
    call.resolve(0);
  });

  it('without attribution (capture off) it is only a promise: wake() and captureNow() take nothing', async () => {
    const call = new ScopedCall<number>(false, 10, publicQuery);
    expect(call.lazy).toBe(false);
    call.wake();
    call.captureNow();
    expect(call.site).toBeUndefined();
    call.resolve(9);
    await expect(call.promise).resolves.toBe(9);
  });

  it('captureNow() takes the synchronous stack below the public method: the line that called it', async () => {
    const call = new ScopedCall<number>(true, 10, publicQuery);
    const returned = callerThatReturns(call); // not awaited: returned to its own caller
    publicQuery(call); // MARK-NOW
    expect(site(call.site)).toMatch(new RegExp(`^${at('MARK-NOW')}\\d+$`));
    // it wins over a later wake(): the site stays, the result still arrives
    const kept = call.site;
    call.wake();
    await microtasks();
    expect(call.site).toBe(kept);
    call.resolve(4);
    await expect(returned).resolves.toBe(4);
  });

  it('captureNow() keeps a site already taken, and does nothing without the public method', async () => {
    const call = new ScopedCall<number>(true, 10, publicQuery);
    const awaited = (async () => await call.promise)();
    call.wake();
    await microtasks();
    const woken = call.site;
    expect(woken).toBeDefined();
    publicQuery(call);
    expect(call.site).toBe(woken);
    call.resolve(1);
    await awaited;

    const noEntry = new ScopedCall<number>(true, 10);
    noEntry.captureNow();
    expect(noEntry.site).toBeUndefined();
    noEntry.resolve(0);
  });

  // The capture of a woken call counted Node's `processTicksAndRejections` frame (or
  // runNextTicks, listOnTimeout, processTimers between timers) against
  // leakDetection.stackTraceLimit (documented as "frames kept per capture (user frames;
  // lifeguard's own are cut off first)", allowed from 1). With a limit of 1 that internal
  // frame was all that was kept, so every awaited scoped call (query, withConnection,
  // withTransaction) was reported as "not awaited".
  it('with stackTraceLimit 1, an awaited call still names its awaiting line', async () => {
    const call = new ScopedCall<number>(true, 1);
    const result = (async () => await call.promise)(); // MARK-LIMIT1
    call.wake();
    await microtasks();
    expect(site(call.site) ?? '(no site)').toContain(at('MARK-LIMIT1'));
    call.resolve(1);
    await result;
  });

  it('woken between two timers (three Node frames above the capture), stackTraceLimit 1 still names the awaiting line', async () => {
    const call = new ScopedCall<number>(true, 1);
    const result = (async () => await call.promise)(); // MARK-TIMERS
    // the capture runs in runNextTicks, called by listOnTimeout before the second timer
    await new Promise<void>((resolve) => {
      setTimeout(() => call.wake(), 1);
      setTimeout(resolve, 1);
    });
    await microtasks();
    const parsed = parseSite(call.site!, []);
    expect(siteText(parsed)).toContain(at('MARK-TIMERS'));
    expect(parsed.frames).toHaveLength(1);
    call.resolve(1);
    await result;
  });

  it('a woken capture keeps at most stackTraceLimit frames, counting only the awaiting callers', async () => {
    const call = new ScopedCall<number>(true, 2);
    const query = async () => await call.promise; // MARK-L2-QUERY
    const getUser = async () => (await query()) + 1; // MARK-L2-GETUSER
    const route = async () => (await getUser()) + 1;
    const result = route();
    call.wake();
    await microtasks();
    const h = call.site!;
    expect(h.stack!.split('\n').filter((l) => l.trim().startsWith('at '))).toHaveLength(2);
    const parsed = parseSite(h, []);
    expect(parsed.frames).toHaveLength(2);
    expect(parsed.frames[0]).toContain(at('MARK-L2-QUERY'));
    expect(parsed.frames[1]).toContain(at('MARK-L2-GETUSER'));
    call.resolve(1);
    await expect(result).resolves.toBe(3);
  });

  it('with stackTraceLimit 1, a call nobody awaits is still "not-awaited"', async () => {
    const call = new ScopedCall<number>(true, 1);
    void call.promise.then(() => undefined);
    call.wake();
    await microtasks();
    expect(describeSite(call, { ignore: [], missing: 'not-sampled' }).noSite).toBe('not-awaited');
    call.resolve(0);
  });
});

/** Stands for a public scoped method (`pool.query`) that takes the synchronous site of a nested acquire. */
function publicQuery(call: ScopedCall<number>): void {
  call.captureNow();
}

function callerThatReturns(call: ScopedCall<number>): Promise<number> {
  return call.promise;
}

// Issue 12's two figures, on the built package with the no-I/O FakeClient:
//  1. heap after 100,000 timed-out acquires (a full pool, max 1), after forced GC,
//     against the heap before them: must stay within 5 MB;
//  2. the longest event-loop block while 10,000 waiters expire together: < 50 ms.
//   npm run build && node --expose-gc bench/hardening.mjs [--dist path/to/dist]
import { PerformanceObserver } from 'node:perf_hooks';
import { arg, silent } from './common.mjs';
import { FakeClient } from './fake-client.mjs';

if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc');
  process.exit(2);
}
const dist = arg('dist', new URL('../dist/', import.meta.url).pathname);
const { createPgPool } = await import(`${dist.replace(/\/?$/, '/')}index.js`);
const mb = (n) => (n / 1024 / 1024).toFixed(2);

function heap() {
  for (let i = 0; i < 4; i++) globalThis.gc();
  return process.memoryUsage().heapUsed;
}

async function timedOut(total, batch) {
  const pool = createPgPool({ Client: FakeClient, max: 1, maxWaiting: Math.max(batch, 1), logger: silent, healthCheck: false });
  const held = await pool.acquire();
  const round = async (n) => {
    const all = [];
    for (let i = 0; i < n; i++) all.push(pool.acquire({ timeoutMs: 5 }).catch(() => undefined));
    await Promise.all(all);
  };
  await round(batch); // warm-up
  const before = heap();
  for (let done = 0; done < total; done += batch) await round(Math.min(batch, total - done));
  const after = heap();
  held.release();
  await pool.close({ timeoutMs: 0 });
  return { before, after, delta: after - before };
}

/**
 * The longest gap between 1 ms ticks while `waiters` acquires expire together, raw and
 * with the time of garbage collections inside the gap taken out (the machine is shared
 * and GC of 10,000 pending promises is not lifeguard's loop work).
 */
async function expiryBlock(waiters) {
  const pool = createPgPool({ Client: FakeClient, max: 1, maxWaiting: waiters, logger: silent, healthCheck: false });
  const held = await pool.acquire();
  const all = [];
  for (let i = 0; i < waiters; i++) all.push(pool.acquire({ timeoutMs: 200 }).catch(() => undefined));
  await new Promise((r) => setTimeout(r, 150));
  const gcs = [];
  const obs = new PerformanceObserver((list) => gcs.push(...list.getEntries().map((e) => [e.startTime, e.startTime + e.duration])));
  obs.observe({ entryTypes: ['gc'] });
  const gaps = [];
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    gaps.push([last, now]);
    last = now;
  }, 1);
  const started = performance.now();
  await Promise.all(all);
  const expiredAfterMs = performance.now() - started;
  clearInterval(tick);
  await new Promise((r) => setTimeout(r, 10)); // let the observer deliver
  obs.disconnect();
  let raw = 0;
  let noGc = 0;
  for (const [a, b] of gaps) {
    const gc = gcs.reduce((sum, [s, e]) => sum + Math.max(0, Math.min(b, e) - Math.max(a, s)), 0);
    raw = Math.max(raw, b - a - 1);
    noGc = Math.max(noGc, b - a - 1 - gc);
  }
  held.release();
  await pool.close({ timeoutMs: 0 });
  return { raw, noGc, expiredAfterMs };
}

const t = await timedOut(100_000, 10_000);
console.log(
  JSON.stringify({ test: '100,000 timed-out acquires', heapBeforeMB: mb(t.before), heapAfterMB: mb(t.after), deltaMB: mb(t.delta), withinBudget: t.delta < 5 * 1024 * 1024 }),
);
const runs = [];
for (let i = 0; i < 5; i++) runs.push(await expiryBlock(10_000));
const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const r1 = (n) => Number(n.toFixed(1));
console.log(
  JSON.stringify({
    test: '10,000 waiters expiring together (5 runs)',
    longestLoopBlockMs: { median: r1(med(runs.map((r) => r.raw))), max: r1(Math.max(...runs.map((r) => r.raw))) },
    longestBlockWithoutGcMs: { median: r1(med(runs.map((r) => r.noGc))), max: r1(Math.max(...runs.map((r) => r.noGc))) },
    allRejectedAfterMs: Math.round(med(runs.map((r) => r.expiredAfterMs))),
    withinBudget: med(runs.map((r) => r.raw)) < 50,
  }),
);
process.exit(0);

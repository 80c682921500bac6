// Redis: shared-client GET (64 callers) vs raw ioredis; pooled BLPOP (16 callers, max 10)
// vs a generic-pool of ioredis clients and node-redis createClientPool.
import genericPool from 'generic-pool';
import { Redis } from 'ioredis';
import { createClientPool } from 'redis';
import { arg, closedLoop, report, silent } from './common.mjs';

const impl = arg('impl');
const test = arg('test');
const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MAX = 10;
const key = `lgbench:${process.pid}`;

const admin = new Redis(url);
let run;
let cleanup;
if (test === 'get') {
  await admin.set(key, 'x'.repeat(100));
  if (impl === 'ioredis') {
    const r = new Redis(url);
    run = () => r.get(key);
    cleanup = () => r.quit();
  } else {
    const { createRedisPool } = await import('../dist/index.js');
    const p = createRedisPool({ url, max: MAX + 1, logger: silent });
    run = () => p.client.get(key);
    cleanup = () => p.close();
  }
} else {
  // the list never runs dry: every BLPOP returns at once
  // small RPUSHes, so a refill never stalls the server for the measured callers
  const chunk = Array.from({ length: 1000 }, () => '1');
  const fill = async () => {
    for (let i = 0; i < 200; i++) await admin.rpush(key, ...chunk);
  };
  await fill();
  const refill = setInterval(() => void admin.llen(key).then((n) => (n < 150_000 ? fill() : undefined)), 100);
  if (impl === 'generic-pool') {
    const p = genericPool.createPool({ create: async () => new Redis(url), destroy: (r) => r.quit() }, { max: MAX });
    run = async () => {
      const r = await p.acquire();
      try {
        return await r.blpop(key, 1);
      } finally {
        p.release(r);
      }
    };
    cleanup = async () => {
      clearInterval(refill);
      await p.drain();
      await p.clear();
    };
  } else if (impl === 'node-redis') {
    // commandOptions default: no per-command timeout is set here
    const p = await createClientPool({ url }, { minimum: MAX, maximum: MAX }).connect();
    run = () => p.blPop(key, 1);
    cleanup = async () => {
      clearInterval(refill);
      await p.close();
    };
  } else {
    const { createRedisPool } = await import('../dist/index.js');
    const p = createRedisPool({ url, max: MAX + 1, logger: silent, ...(process.env.LG_NESTED ? { onNestedAcquire: process.env.LG_NESTED } : {}) });
    run = () => p.withConnection((r) => r.blpop(key, 1));
    cleanup = async () => {
      clearInterval(refill);
      if (process.env.LG_STATS) console.error(JSON.stringify({ ...p.stats(), waitMs: undefined, heldMs: p.stats().heldMs }));
      await p.close();
    };
  }
}
await Promise.all(Array.from({ length: MAX * 2 }, () => run()));
const concurrency = test === 'get' ? 64 : 16;
const r = await closedLoop(run, concurrency);
report({ impl, test, concurrency, ...r });
await cleanup();
await admin.del(key);
await admin.quit();
process.exit(0);

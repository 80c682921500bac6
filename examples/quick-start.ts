// The README's quick start, as pasted there (test/examples/readme.test.ts checks they
// match and runs this file). Run: npm run example quick-start
import { getPoolManager } from 'lifeguard';

const lg = getPoolManager();                       // one per process
const db = lg.pg('main', { connectionString: process.env.DATABASE_URL, max: 10 });
const cache = lg.redis('cache', { url: process.env.REDIS_URL, max: 20 });

const { rows } = await db.query('select $1::int as n', [1]);           // pg.Pool API
await db.query('create table if not exists audit (id serial primary key, msg text)');
await db.withTransaction(async (client) => {                          // BEGIN … COMMIT / ROLLBACK
  await client.query('insert into audit(msg) values ($1)', ['hello']);
}, { isolationLevel: 'serializable' });

await cache.client.rpush(`jobs:${process.pid}`, 'job-1');             // shared multiplexed client
const job = await cache.withConnection((redis) => redis.blpop(`jobs:${process.pid}`, 5)); // exclusive connection

{ await using lease = await db.acquire({ tag: 'report' }); await lease.client.query('select 1'); }

console.log('n =', rows[0].n, '| job =', job, '| leases out:', lg.leases().length);
await lg.close({ timeoutMs: 10_000 });             // drain, then force; returns what it forced

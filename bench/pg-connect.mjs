// connect() + release() with the real pg.Client (no query): the checkout cost a pg.Pool
// user pays, lifeguard against pg.Pool; closed loop, max 10, pre-warmed; ops/s.
import pg from 'pg';
import { arg, closedLoop, report, silent } from './common.mjs';

const impl = arg('impl');
const concurrency = Number(arg('concurrency', '1'));
const connectionString = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MAX = 10;

let pool;
if (impl === 'pg.Pool') {
  pool = new pg.Pool({ connectionString, max: MAX });
} else {
  const { createPgPool } = await import('../dist/index.js');
  pool = createPgPool({ connectionString, max: MAX, logger: silent });
}
// open every connection first, so the loop measures checkouts, not connects
const warm = await Promise.all(Array.from({ length: MAX }, () => pool.connect()));
for (const c of warm) c.release();
const r = await closedLoop(async () => {
  const client = await pool.connect();
  client.release();
}, concurrency);
report({ impl, concurrency, ...r });
await pool.end();
process.exit(0);

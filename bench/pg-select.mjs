// SELECT 1 through the pool, 64 closed-loop callers, max 10, pre-warmed; ops/s.
// --op query (default): pool.query. --op with-connection: lifeguard's withConnection
// with one query, against pg.Pool's connect() + query + release().
import pg from 'pg';
import { arg, closedLoop, report, silent } from './common.mjs';

const impl = arg('impl');
const concurrency = Number(arg('concurrency', '64'));
const op = arg('op', 'query');
const connectionString = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MAX = 10;

let pool;
if (impl === 'pg.Pool') {
  pool = new pg.Pool({ connectionString, max: MAX });
} else {
  // lifeguard-before: the build of an earlier commit (BENCH_BASE_DIST), for paired costs of a change
  const dist = impl === 'lifeguard-before' ? process.env.BENCH_BASE_DIST : '../dist';
  const { createPgPool } = await import(`${dist}/index.js`);
  if (impl === 'lifeguard-prom') {
    const { Registry } = await import('prom-client');
    const { registerPrometheus } = await import('../dist/prometheus.js');
    const registry = new Registry();
    registerPrometheus(registry);
    // scraped every second (BENCH_SCRAPE_MS), far more often than a Prometheus server would
    setInterval(() => void registry.metrics(), Number(process.env.BENCH_SCRAPE_MS ?? 1000)).unref();
  }
  const mode = { 'lifeguard-nostack': false, 'lifeguard-always': 'always' }[impl];
  pool = createPgPool({ connectionString, max: MAX, logger: silent, leakDetection: mode === undefined ? {} : { captureStacks: mode } });
}
await Promise.all(Array.from({ length: MAX * 3 }, () => pool.query('SELECT 1')));
const scoped =
  op === 'query'
    ? () => pool.query('SELECT 1')
    : impl === 'pg.Pool'
      ? async () => {
          const c = await pool.connect();
          try {
            return await c.query('SELECT 1');
          } finally {
            c.release();
          }
        }
      : () => pool.withConnection((c) => c.query('SELECT 1'));
const r = await closedLoop(scoped, concurrency);
report({ impl, op, concurrency, ...r });
await pool.end();
process.exit(0);

// Graceful shutdown: on SIGTERM stop accepting, let requests in flight finish (they
// still get connections), then lg.close() drains the pools and forces what is left
// after its timeout, saying where each forced lease was acquired.
// Run: npm run example graceful-shutdown      (then Ctrl-C, or kill -TERM <pid>)
import http from 'node:http';
import { getPoolManager, withRequestTag } from 'lifeguard';

const lg = getPoolManager();
const db = lg.pg('main', { connectionString: process.env.DATABASE_URL, max: 5 });
const cache = lg.redis('cache', { url: process.env.REDIS_URL, max: 3 });

let stopping = false;
const server = http.createServer(
  withRequestTag(async (req: http.IncomingMessage, res: http.ServerResponse) => {
    // a slow report: holds a connection for ?ms= milliseconds
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 100);
    const { rows } = await db.query('select $1::int as slept_ms, now() as at from pg_sleep($1::float / 1000)', [ms]);
    await cache.client.incr(`example:requests:${process.pid}`);
    res.setHeader('content-type', 'application/json');
    if (stopping) res.setHeader('connection', 'close'); // no keep-alive to wait out
    res.end(JSON.stringify(rows[0]));
  }),
);
server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(`listening on http://127.0.0.1:${port} (pid ${process.pid}); try GET /?ms=2000, then kill -TERM ${process.pid}`);
});

async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  const t0 = performance.now();
  console.log(`${signal}: closing the HTTP server; ${db.stats().active} database leases in flight`);
  // 1. stop accepting; in-flight requests keep their connections and finish
  await new Promise<void>((resolve) => server.close(() => resolve()));
  console.log(`requests drained after ${Math.round(performance.now() - t0)} ms`);
  // 2. close the pools: waits for leases to come back, forces the rest after 5 s
  await cache.client.del(`example:requests:${process.pid}`);
  const { forced } = await lg.close({ timeoutMs: 5000 });
  for (const f of forced) console.log(`forced: lease #${f.id} of "${f.pool}" acquired at ${f.site ?? '?'}`);
  console.log(`pools closed (${forced.length} forced) after ${Math.round(performance.now() - t0)} ms; bye`);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

// A small app exposing lifeguard's metrics on /metrics for Prometheus, as a service would.
//   npm run build && DATABASE_URL=postgres://… PORT=9464 node examples/prometheus-app.mjs
// GET /metrics    Prometheus text exposition (prom-client's global registry)
// GET /query      runs SELECT 1
// GET /exhaust    holds every connection of the pool (to see LifeguardPoolExhausted)
// GET /release    gives them back
import http from 'node:http';
import { register } from 'prom-client';
import { getPoolManager } from 'lifeguard';
import { registerPrometheus } from 'lifeguard/prometheus';

registerPrometheus(); // the one line: every lifeguard pool, present and future

const lg = getPoolManager();
const max = Number(process.env.POOL_MAX ?? 2);
const db = lg.pg('main', { connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test', max });
const held = [];

const server = http.createServer(async (req, res) => {
  try {
    if (req.url === '/metrics') {
      res.setHeader('content-type', register.contentType);
      res.end(await register.metrics());
    } else if (req.url === '/query') {
      const { rows } = await db.query('select 1 as one');
      res.end(JSON.stringify(rows));
    } else if (req.url === '/exhaust') {
      while (held.length < max) held.push(await db.acquire({ tag: 'GET /exhaust' }));
      res.end(`holding ${held.length}\n`);
    } else if (req.url === '/release') {
      for (const lease of held.splice(0)) lease.release();
      res.end('released\n');
    } else {
      res.statusCode = 404;
      res.end();
    }
  } catch (err) {
    res.statusCode = 500;
    res.end(String(err));
  }
});

server.listen(Number(process.env.PORT ?? 9464), '127.0.0.1', () => {
  console.log(`listening ${server.address().port}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    for (const lease of held.splice(0)) lease.release();
    server.close();
    await lg.close({ timeoutMs: 1000 });
    process.exit(0);
  });
}

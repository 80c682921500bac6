// The demo's HTTP service (npm run demo drives load at it). An ordinary lifeguard
// setup, with one bug on purpose: GET /report forgets to release its connection on
// an early return.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getPoolManager, isLifeguardError, withRequestTag, type Logger } from 'lifeguard';

export interface DemoService {
  readonly url: string;
  readonly lg: ReturnType<typeof getPoolManager>;
  close(): Promise<void>;
}

export async function startService(opts: { databaseUrl: string; redisUrl: string | undefined; logger: Logger }): Promise<DemoService> {
  const lg = getPoolManager();
  const db = lg.pg('main', {
    connectionString: opts.databaseUrl,
    max: 4,
    acquireTimeoutMs: 1000,
    // 'always' names every acquire's line; production's 'sampled' names leaks too, from the next occurrence on
    leakDetection: { thresholdMs: 1500, captureStacks: 'always' },
    logger: opts.logger,
  });
  const cache =
    opts.redisUrl === undefined
      ? undefined
      : lg.redis('cache', {
          url: opts.redisUrl,
          max: 4,
          acquireTimeoutMs: 1000,
          connectTimeoutMs: 300,
          reconnect: { baseMs: 50, maxMs: 400 },
          circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 1000 },
          logger: opts.logger,
        });

  async function order(id: string): Promise<unknown> {
    return db.withConnection(async (client) => (await client.query('select $1::int as id, now() as at', [id])).rows[0]);
  }

  // reports in progress, to cancel them on shutdown; it also keeps a leaked client reachable,
  // so lifeguard reports it held too long (a client nobody references is reported lost after GC)
  const running = new Set<object>();
  async function report(): Promise<unknown> {
    const client = await db.connect(); // the bug: released only on the slow path below
    running.add(client);
    const { rows } = await client.query<{ n: number }>('select count(*)::int as n from generate_series(1, 10)');
    if (rows[0]!.n > 5) return { orders: rows[0]!.n }; // early return: client never released
    running.delete(client);
    client.release();
    return { orders: rows[0]!.n };
  }

  async function rateLimit(user: string): Promise<unknown> {
    if (!cache) throw new Error('no Redis');
    const key = `demo:rate:${process.pid}:${user}`;
    // MULTI needs a connection of its own: withConnection lends one and always gives it back
    const result = await cache.withConnection((r) => r.multi().incr(key).expire(key, 60).exec());
    return { user, requests: result?.[0]?.[1] };
  }

  const server = http.createServer(
    withRequestTag(async (req: http.IncomingMessage, res: http.ServerResponse) => {
      const [, route, arg = ''] = (req.url ?? '/').split('/');
      try {
        const body = route === 'orders' ? await order(arg) : route === 'report' ? await report() : route === 'rate' ? await rateLimit(arg) : undefined;
        res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body ?? { error: 'not found' }));
      } catch (err) {
        const e = err as Error & { code?: string };
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: isLifeguardError(e) ? e.code : (e.code ?? 'ERROR'), message: e.message }));
      }
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    lg,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (cache) await cache.client.del(`demo:rate:${process.pid}:ada`, `demo:rate:${process.pid}:linus`).catch(() => {});
      await lg.close({ timeoutMs: 100 }); // forces the leaked leases back
    },
  };
}

import net from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { DATABASE_URL, PG, REDIS } from '../../helpers/env.js';
import { waitFor } from '../../helpers/events.js';
import { FaultProxy } from '../../helpers/proxy.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function proxyTo(target: { host: string; port: number }): Promise<FaultProxy> {
  const proxy = await FaultProxy.start(target);
  cleanups.push(() => proxy.close());
  return proxy;
}

function redisVia(proxy: FaultProxy): Redis {
  const r = new Redis(proxy.url('redis'), { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false });
  r.on('error', () => undefined);
  cleanups.push(() => r.disconnect());
  return r;
}

function pgVia(proxy: FaultProxy, options: pg.ClientConfig = {}): pg.Client {
  const c = new pg.Client({ connectionString: proxy.via(DATABASE_URL), ...options });
  c.on('error', () => undefined);
  cleanups.push(() => c.end().catch(() => undefined));
  return c;
}

/** A raw socket through the proxy, collecting what it receives. */
async function rawVia(proxy: FaultProxy): Promise<{ socket: net.Socket; received: () => string; closed: Promise<void> }> {
  const socket = net.connect(proxy.port, proxy.host);
  socket.on('error', () => undefined);
  cleanups.push(() => socket.destroy());
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, received: () => got, closed };
}

describe('FaultProxy', () => {
  it('pass: forwards pg and Redis both ways, and counts connections', async () => {
    const pgProxy = await proxyTo(PG);
    const c = pgVia(pgProxy);
    await c.connect();
    expect((await c.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);

    const redisProxy = await proxyTo(REDIS);
    const r = redisVia(redisProxy);
    await r.connect();
    expect(await r.ping()).toBe('PONG');
    expect(redisProxy.accepted).toBe(1);
    expect(redisProxy.active).toBe(1);

    await r.quit();
    await c.end();
    await waitFor(() => redisProxy.active === 0 && pgProxy.active === 0, { message: 'proxied connections still open' });
  });

  it('refuse: new connections are closed at once; existing ones keep working', async () => {
    const proxy = await proxyTo(REDIS);
    const before = redisVia(proxy);
    await before.connect();

    proxy.setMode('refuse');
    expect(proxy.mode).toBe('refuse');
    const refused = redisVia(proxy);
    await expect(refused.connect()).rejects.toThrow();
    expect(await before.ping()).toBe('PONG');

    const pgProxy = await proxyTo(PG);
    pgProxy.setMode('refuse');
    await expect(pgVia(pgProxy).connect()).rejects.toThrow();
    expect(pgProxy.accepted).toBe(1);
    expect(pgProxy.active).toBe(0);
  });

  it('stall: a pg connect with connectionTimeoutMillis 300 fails within ~1 s; existing connections pass', async () => {
    const proxy = await proxyTo(PG);
    const live = pgVia(proxy);
    await live.connect();

    proxy.setMode('stall');
    const started = performance.now();
    await expect(pgVia(proxy, { connectionTimeoutMillis: 300 }).connect()).rejects.toThrow(/timeout/i);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(1000);
    expect((await live.query('select 1')).rowCount).toBe(1);
  });

  it('stall: holds the connection open without answering', async () => {
    const proxy = await proxyTo(REDIS);
    proxy.setMode('stall');
    const raw = await rawVia(proxy);
    raw.socket.write('PING\r\n');
    await waitFor(() => proxy.active === 1);
    proxy.setMode('pass');
    const other = await rawVia(proxy);
    other.socket.write('PING\r\n');
    await waitFor(() => other.received() === '+PONG\r\n');
    expect(raw.received()).toBe('');
  });

  it('cut: open clients see their connection end; later connections pass', async () => {
    const proxy = await proxyTo(PG);
    const c = pgVia(proxy);
    await c.connect();
    const ended = new Promise<void>((resolve) => c.once('end', () => resolve()));

    const redisProxy = await proxyTo(REDIS);
    const r = redisVia(redisProxy);
    await r.connect();
    const closed = new Promise<void>((resolve) => r.once('close', () => resolve()));

    proxy.cut();
    redisProxy.cut();
    await Promise.all([ended, closed]);
    await expect(c.query('select 1')).rejects.toThrow();
    expect(proxy.active).toBe(0);
    expect(redisProxy.active).toBe(0);
    expect(proxy.mode).toBe('pass');

    const again = pgVia(proxy);
    await again.connect();
    expect((await again.query('select 1')).rowCount).toBe(1);
  });

  it('latency: a round trip takes at least the latency each way, in order', async () => {
    const proxy = await proxyTo(REDIS);
    const r = redisVia(proxy);
    await r.connect();
    proxy.setLatency(60);
    const started = performance.now();
    expect(await r.ping()).toBe('PONG');
    expect(performance.now() - started).toBeGreaterThanOrEqual(118);

    // chunks sent before and after dropping the latency still arrive in order
    const raw = await rawVia(proxy);
    raw.socket.write('ECHO a\r\n');
    proxy.setLatency(0);
    raw.socket.write('ECHO b\r\n');
    await waitFor(() => raw.received().length >= 14);
    expect(raw.received()).toBe('$1\r\na\r\n$1\r\nb\r\n');
  });

  it('cutAfterBytes: delivers exactly n bytes from the server, then cuts', async () => {
    const proxy = await proxyTo(REDIS);
    proxy.cutAfterBytes(3, { connections: 1 });
    const raw = await rawVia(proxy);
    raw.socket.write('PING\r\n');
    await raw.closed;
    expect(raw.received()).toBe('+PO');
    await waitFor(() => proxy.active === 0);

    const next = await rawVia(proxy);
    next.socket.write('PING\r\n');
    await waitFor(() => next.received() === '+PONG\r\n');
  });

  it('close: destroys connections, stops listening, and may be called again', async () => {
    const proxy = await proxyTo(REDIS);
    const raw = await rawVia(proxy);
    await proxy.close();
    await proxy.close();
    await raw.closed;
    expect(proxy.active).toBe(0);
    await expect(
      new Promise<void>((resolve, reject) => {
        const s = net.connect(proxy.port, proxy.host, () => {
          s.destroy();
          resolve();
        });
        s.on('error', reject);
      }),
    ).rejects.toThrow(/ECONNREFUSED/);
  });
});

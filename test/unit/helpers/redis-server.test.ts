import { existsSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS } from '../../helpers/env.js';
import { type EphemeralRedis, answersPing, freePort, startRedisServer } from '../../helpers/redis-server.js';

const servers: EphemeralRedis[] = [];
const clients: Redis[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function start(opts?: Parameters<typeof startRedisServer>[0]): Promise<EphemeralRedis> {
  const s = await startRedisServer(opts);
  servers.push(s);
  return s;
}

function client(url: string): Redis {
  const c = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
  c.on('error', () => undefined);
  clients.push(c);
  return c;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startRedisServer', () => {
  it('starts on a free port, is killed, and restarts on the same port', async () => {
    const s = await start();
    expect(s.port).not.toBe(REDIS.port);
    expect(s.url).toBe(`redis://127.0.0.1:${s.port}`);
    expect(s.running).toBe(true);
    const c = client(s.url);
    await c.connect();
    await c.set('k', 'v');
    expect(await c.get('k')).toBe('v');

    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    const pid = s.pid!;
    await s.kill();
    await closed;
    expect(s.running).toBe(false);
    expect(alive(pid)).toBe(false);
    expect(await answersPing(s.port)).toBe(false);
    await s.kill(); // nothing to kill: no-op

    await s.restart();
    expect(s.running).toBe(true);
    expect(await answersPing(s.port)).toBe(true);
    const again = client(s.url);
    await again.connect();
    expect(await again.get('k')).toBeNull(); // no persistence
  });

  it('restart() of a running server stops it gracefully first', async () => {
    const s = await start();
    const pid = s.pid!;
    await s.restart();
    expect(alive(pid)).toBe(false);
    expect(s.pid).not.toBe(pid);
    expect(await answersPing(s.port)).toBe(true);
  });

  it('stop() terminates, removes the directory, and is idempotent', async () => {
    const s = await start();
    const pid = s.pid!;
    const dir = s.dir!;
    expect(existsSync(dir)).toBe(true);
    await s.stop();
    await s.stop();
    expect(alive(pid)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(await answersPing(s.port)).toBe(false);
  });

  it('takes a port and extra arguments', async () => {
    const port = await freePort();
    const s = await start({ port, args: ['--maxclients', '17'] });
    expect(s.port).toBe(port);
    const c = client(s.url);
    await c.connect();
    expect(await c.config('GET', 'maxclients')).toEqual(['maxclients', '17']);
  });

  it('refuses a port something already listens on (never mistakes the shared server for its own)', async () => {
    await expect(start({ port: REDIS.port })).rejects.toThrow(/in use/);
  });

  it('reports a server that cannot start', async () => {
    await expect(start({ args: ['--no-such-option', 'x'], startTimeoutMs: 3000 })).rejects.toThrow(/exited/);
  });
});

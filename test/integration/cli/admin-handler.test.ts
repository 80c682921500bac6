// lifeguard/http: the admin handler serves this process's pools and leases as JSON.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adminSnapshot, createAdminHandler, type AdminSnapshot } from '../../../src/admin.js';
import { createRedisPool, silentLogger } from '../../../src/index.js';
import { REDIS_URL } from '../../helpers/env.js';
import { unique } from '../../helpers/unique.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((f) => f()));
});

describe('createAdminHandler', () => {
  it('serves pools with their budget and leases (site and tag) on its path only, GET and HEAD only', async () => {
    const name = unique('admin');
    const pool = createRedisPool({ url: REDIS_URL, name, app: 'adminapp', max: 3, logger: silentLogger, publishBudget: false });
    cleanups.push(() => pool.close());
    const lease = await pool.acquire({ tag: 'GET /admin-test' });
    cleanups.unshift(async () => lease.release());
    const server = http.createServer(createAdminHandler({ path: '/lifeguard' }));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    const res = await fetch(`${base}/lifeguard`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await res.json()) as AdminSnapshot;
    expect(body).toMatchObject({ version: 1, pid: process.pid });
    const mine = body.pools.find((p) => p.name === name)!;
    expect(mine).toMatchObject({ driver: 'redis', app: 'adminapp', max: 3, active: 1, circuit: 'closed', target: 'redis://127.0.0.1:6379' });
    expect(mine.budget).toMatchObject({ shared: 1, pooled: 1, available: 1 });
    expect(mine.leases).toEqual([expect.objectContaining({ kind: 'lease', tag: 'GET /admin-test', site: expect.stringMatching(/admin-handler\.test\.ts:\d+:\d+/), stack: null })]);

    expect((await fetch(`${base}/other`)).status).toBe(404);
    expect((await fetch(`${base}/lifeguard`, { method: 'POST' })).status).toBe(405);
    const head = await fetch(`${base}/lifeguard`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    expect(adminSnapshot({ stacks: true }).pools.find((p) => p.name === name)!.leases[0]!.stack).toMatch(/admin-handler\.test\.ts/);
  });
});

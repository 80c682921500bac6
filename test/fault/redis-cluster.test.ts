/**
 * Issue 17: a 3-master Redis Cluster with one replica each, started once for this
 * file on free loopback ports and always torn down.
 */
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisPool, type LifeguardRedisPool } from '../../src/index.js';
import { waitFor } from '../helpers/events.js';
import { closeAfterTest, recordingLogger } from '../helpers/pools.js';
import { EphemeralCluster } from '../helpers/redis-cluster.js';
import { unique } from '../helpers/unique.js';

let cluster: EphemeralCluster;
beforeAll(async () => {
  cluster = await EphemeralCluster.start({ masters: 3, replicas: 1, nodeTimeoutMs: 1000 });
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});

function clusterPool(max: number): { pool: LifeguardRedisPool<Cluster>; app: string } {
  const app = unique('lgc');
  const pool = closeAfterTest(
    createRedisPool({
      name: unique('c'),
      app,
      max,
      logger: recordingLogger(),
      publishBudget: false,
      healthCheck: false,
      cluster: { nodes: cluster.seeds, retryDelayOnFailover: 100, retryDelayOnClusterDown: 200, slotsRefreshTimeout: 1000 },
    }),
  );
  return { pool, app };
}

/** Per node: this pool's connections in CLIENT LIST against lifeguard's own count. */
async function compareCounts(pool: LifeguardRedisPool<Cluster>, app: string): Promise<{ node: string; server: number; lifeguard: number }[]> {
  const stats = pool.nodeStats();
  const out: { node: string; server: number; lifeguard: number }[] = [];
  for (const n of cluster.nodes.filter((x) => x.running)) {
    const key = `127.0.0.1:${n.port}`;
    out.push({ node: key, server: await cluster.countNamed(n.port, `lifeguard:${app}:`), lifeguard: stats.find((s) => s.node === key)?.connections ?? 0 });
  }
  return out;
}

describe('Redis Cluster', () => {
  it('spreads keys across slots through the shared client and leases, and counts per node match the servers', async () => {
    const { pool, app } = clusterPool(4);
    const keys = Array.from({ length: 60 }, (_, i) => `${app}:k${i}`);
    for (const k of keys) await pool.client.set(k, k);
    // leases read them back, whichever node holds the slot (MOVED handled by the cluster client)
    const read = await pool.withConnection(async (c) => Promise.all(keys.map((k) => c.get(k))));
    expect(read).toEqual(keys);
    // the keys really are on three masters
    const masters = await cluster.masters();
    const perMaster = await Promise.all(masters.map((p) => cluster.on(p, (r) => r.dbsize())));
    expect(perMaster.filter((n) => n > 0)).toHaveLength(3);

    // two leases at once, commands on every master from each
    await Promise.all(
      [0, 1].map(() =>
        pool.withConnection(async (c) => {
          for (const k of keys) await c.get(k);
        }),
      ),
    );
    const counts = await compareCounts(pool, app);
    for (const c of counts) {
      expect(c.server, c.node).toBe(c.lifeguard);
      expect(c.server).toBeLessThanOrEqual(4);
    }
    // shared client + 2 pooled clients on each master
    expect(counts.filter((c) => c.server === 3)).toHaveLength(3);
    const stats = pool.nodeStats();
    expect(stats.filter((s) => s.role === 'master')).toHaveLength(3);
    expect(stats.every((s) => s.max === 4)).toBe(true);
  });

  it('runs BLPOP workers on pooled cluster connections and delivers every job', async () => {
    const { pool, app } = clusterPool(5);
    const lists = [0, 1, 2, 3].map((i) => `${app}:jobs{${i}}`);
    const got: string[] = [];
    const workers = lists.map((list) =>
      pool.withConnection(async (c) => {
        for (let n = 0; n < 5; n++) {
          const r = await c.blpop(list, 5);
          if (r) got.push(r[1]);
        }
      }),
    );
    for (let n = 0; n < 5; n++) for (const list of lists) await pool.client.rpush(list, `${list}#${n}`);
    await Promise.all(workers);
    expect(got.sort()).toEqual(lists.flatMap((l) => [0, 1, 2, 3, 4].map((n) => `${l}#${n}`)).sort());
    expect(pool.stats().budget.pooled).toBeLessThanOrEqual(4);
  });

  it('delivers sharded pub/sub (SSUBSCRIBE) across shards and names the subscriber connections', async () => {
    const { pool, app } = clusterPool(4);
    const sub = await pool.subscriber();
    const got: string[] = [];
    const channels = [`${app}:a{1}`, `${app}:b{2}`, `${app}:c{3}`];
    await sub.ssubscribe(channels, (m, ch) => got.push(`${ch}=${m}`));
    for (const ch of channels) await pool.client.spublish(ch, 'hi');
    await waitFor(() => got.length === 3, { timeoutMs: 5000 });
    expect(got.sort()).toEqual(channels.map((c) => `${c}=hi`).sort());
    const counts = await compareCounts(pool, app);
    for (const c of counts) expect(c.server, c.node).toBe(c.lifeguard);
    await sub.close();
  });

  it('duplicate() on the cluster client is counted in the budget and refused when it is full', async () => {
    const { pool } = clusterPool(3);
    const a = pool.client.duplicate();
    const b = pool.client.duplicate();
    expect(pool.stats().budget.dedicated).toBe(2);
    expect(() => pool.client.duplicate()).toThrow(expect.objectContaining({ code: 'BUDGET_EXHAUSTED' }));
    await a.set('x{1}', '1');
    await a.quit();
    b.disconnect();
    await waitFor(() => pool.stats().budget.dedicated === 0);
  });

  it('survives a master killed: the replica takes over and the shared client and leases work again', async () => {
    const { pool, app } = clusterPool(4);
    const key = `${app}:failover`;
    await pool.client.set(key, 'before');
    await pool.withConnection((c) => c.get(key));
    const slot = Number(await pool.client.call('CLUSTER', 'KEYSLOT', key));
    const owner = (pool.client.slots[slot] ?? [])[0]!;
    const victim = cluster.nodes.find((n) => `127.0.0.1:${n.port}` === owner)!;
    const circuits: string[] = [];
    pool.on('event', (e) => {
      if (e.type === 'circuit') circuits.push(`${e.from}->${e.to}`);
    });
    const t0 = performance.now();
    await victim.kill();
    // writes during the failover either succeed or fail with a clear error; then they succeed
    let ok = false;
    let lastError = '';
    while (!ok && performance.now() - t0 < 20_000) {
      try {
        await pool.client.set(key, 'after');
        ok = (await pool.withConnection((c) => c.get(key))) === 'after';
      } catch (err) {
        lastError = String(err);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    expect(ok, lastError).toBe(true);
    const recoveredMs = Math.round(performance.now() - t0);
    await cluster.waitHealthy(3);
    expect(circuits).toEqual([]);
    await waitFor(async () => {
      const counts = await compareCounts(pool, app);
      return counts.every((c) => c.server === c.lifeguard);
    }, { timeoutMs: 5000 });
    console.info(`cluster failover: writes and leases recovered ${recoveredMs} ms after the master was killed${lastError ? ` (meanwhile: ${lastError})` : ''}`);
  });
});

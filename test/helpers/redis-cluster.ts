/**
 * An ephemeral Redis Cluster (issue 17): `masters` redis-servers started with
 * `--cluster-enabled yes` on free ports (bus ports free too, via `--cluster-port`),
 * each with `replicas` replicas, joined by `redis-cli --cluster create … --cluster-yes`.
 * Loopback only; every server is killed and its directory removed by stop(), and by
 * the process exit handler of redis-server.ts if a test forgot.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { EphemeralRedis, freePort } from './redis-server.js';

const run = promisify(execFile);

export interface ClusterNodeInfo {
  readonly server: EphemeralRedis;
  readonly port: number;
}

export class EphemeralCluster {
  readonly nodes: EphemeralRedis[];
  private constructor(nodes: EphemeralRedis[]) {
    this.nodes = nodes;
  }

  static async start(opts: { masters?: number; replicas?: number; nodeTimeoutMs?: number } = {}): Promise<EphemeralCluster> {
    const masters = opts.masters ?? 3;
    const replicas = opts.replicas ?? 1;
    const count = masters * (1 + replicas);
    const nodes = await Promise.all(
      Array.from({ length: count }, async () =>
        EphemeralRedis.start({
          args: [
            '--cluster-enabled', 'yes',
            '--cluster-config-file', 'nodes.conf',
            '--cluster-node-timeout', String(opts.nodeTimeoutMs ?? 1000),
            '--cluster-port', String(await freePort()),
            '--cluster-replica-validity-factor', '0',
          ],
        }),
      ),
    );
    const c = new EphemeralCluster(nodes);
    try {
      await run('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], {
        timeout: 30_000,
      });
      await c.waitHealthy(masters);
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  /** Seed nodes for `cluster.nodes`. */
  get seeds(): { host: string; port: number }[] {
    return this.nodes.filter((n) => n.running).map((n) => ({ host: '127.0.0.1', port: n.port }));
  }

  /** Runs one command on one node with a throwaway connection. */
  async on<T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> {
    const r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    r.on('error', () => undefined);
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  }

  /** The masters' ports now (from a running node's CLUSTER NODES). */
  async masters(): Promise<number[]> {
    const any = this.nodes.find((n) => n.running)!;
    const text = await this.on(any.port, (r) => r.call('CLUSTER', 'NODES') as Promise<string>);
    return text
      .split('\n')
      .filter((l) => {
        const flags = (l.split(' ')[2] ?? '').split(',');
        return flags.includes('master') && !flags.includes('fail') && !flags.includes('fail?');
      })
      .map((l) => Number(/:(\d+)@/.exec(l)![1]));
  }

  /** Waits until every running node says cluster_state:ok and `masters` masters serve slots. */
  async waitHealthy(masters: number, timeoutMs = 20_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      let ok = true;
      for (const n of this.nodes.filter((x) => x.running)) {
        const info = await this.on(n.port, (r) => r.call('CLUSTER', 'INFO') as Promise<string>).catch(() => '');
        if (!info.includes('cluster_state:ok')) ok = false;
      }
      if (ok && (await this.masters().catch(() => [])).length === masters) return;
      if (performance.now() > deadline) throw new Error('cluster did not become healthy');
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Connections named `name` on the node at `port` (CLIENT LIST). */
  async countNamed(port: number, name: string): Promise<number> {
    const list = await this.on(port, (r) => r.call('CLIENT', 'LIST') as Promise<string>);
    return list.split('\n').filter((l) => {
      const m = / name=(\S*)/.exec(l);
      return m !== null && m[1]!.includes(name) && !m[1]!.includes('(refresher)');
    }).length;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill().then(() => n.stop())));
  }
}

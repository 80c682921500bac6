/**
 * Redis Cluster (issue 17). With `cluster: { nodes }` every connection lifeguard
 * counts is an ioredis `Cluster`: the shared client, each pooled connection, each
 * subscriber and dedicated connection. A `Cluster` opens at most one connection to
 * each node (lazily, when a command goes there; sharded subscribers one per shard
 * they listen on), so one permit of the budget is at most one connection per node:
 * with `max: M` no node ever sees more than M of the pool's connections (plus, for a
 * moment, the short-lived `ioredis-cluster(refresher)` connection a client opens to
 * fetch the slot map). MOVED / ASK redirections, slot-map refreshes and failovers are
 * ioredis' work; the pool sees a broken cluster client only when the whole cluster
 * is unreachable.
 */
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { loadIoredis } from '../core/peer.js';
import { applyCommandTimeout, closeBounded } from './connection.js';
import type { Driver, LeaseHandle } from '../core/driver.js';
import type { OptionChecker } from '../core/options.js';
import { scrubError } from '../core/redact.js';
import type { ServerAddress } from '../core/meter.js';
import { connState, leaseClient } from './client.js';
import { commandTimeoutOf, connectionOptions } from './driver.js';
import type { ResolvedRedisOptions } from './options.js';

/** The `cluster` option of a Redis pool: the seed nodes and any ioredis `ClusterOptions`. */
export interface RedisClusterOptions extends Omit<ClusterOptions, 'redisOptions' | 'clusterRetryStrategy' | 'lazyConnect'> {
  /**
   * Seed nodes (`'host:port'`, a port, or `{ host, port }`); the rest of the cluster
   * is discovered from them. No default.
   */
  nodes: readonly ClusterNode[];
}

/** Resolved cluster settings. */
export interface ResolvedCluster {
  readonly nodes: readonly ClusterNode[];
  readonly options: Readonly<Omit<ClusterOptions, 'redisOptions'>>;
  /** `redis-cluster://host:port,host:port`. */
  readonly target: string;
  readonly server: ServerAddress;
}

/** One node's share of a pool, as `nodeStats()` reports it. */
export interface RedisNodeStats {
  /** `host:port` as the cluster announces it. */
  readonly node: string;
  /** `master` or `replica` in the client's current slot map. */
  readonly role: 'master' | 'replica';
  /** Connections of this pool open to this node now (shared, pooled, subscribers, dedicated). */
  readonly connections: number;
  /** The most this pool may open to the node: the pool's `max`. */
  readonly max: number;
}

/** Checks the `cluster` option. */
export function resolveCluster(c: OptionChecker, value: unknown): ResolvedCluster {
  const o = c.object('cluster', value);
  const { nodes, ...rest } = o;
  if (!Array.isArray(nodes) || nodes.length === 0) c.fail('cluster.nodes', "a non-empty array of 'host:port', ports or { host, port }", nodes);
  for (const bad of ['redisOptions', 'clusterRetryStrategy', 'lazyConnect']) {
    if (bad in rest) c.fail(`cluster.${bad}`, bad === 'redisOptions' ? "absent: node options go in the pool's redisOptions" : 'absent: lifeguard sets it', typeof rest[bad]);
  }
  const list = (nodes as unknown[]).map((n, i) => {
    if (typeof n === 'string' || typeof n === 'number') return n;
    const a = c.object(`cluster.nodes[${i}]`, n);
    return { host: a.host === undefined ? undefined : c.string(`cluster.nodes[${i}].host`, a.host), port: a.port === undefined ? undefined : c.int(`cluster.nodes[${i}].port`, a.port, 1) };
  });
  const first = nodeAddress(list[0]!);
  return Object.freeze({
    nodes: Object.freeze(list as ClusterNode[]),
    options: Object.freeze(rest as Omit<ClusterOptions, 'redisOptions'>),
    target: `redis-cluster://${list.map((n) => nodeAddress(n).key).join(',')}`,
    server: { address: first.host, port: first.port },
  });
}

function nodeAddress(n: ClusterNode): { host: string; port: number; key: string } {
  let host = '127.0.0.1';
  let port = 6379;
  if (typeof n === 'number') port = n;
  else if (typeof n === 'string') {
    const i = n.lastIndexOf(':');
    if (i === -1) port = Number(n) || 6379;
    else {
      host = n.slice(0, i) || host;
      port = Number(n.slice(i + 1)) || 6379;
    }
  } else {
    host = n.host ?? host;
    port = n.port ?? port;
  }
  return { host, port, key: `${host}:${port}` };
}

/** A new cluster client of this pool: node connections carry the pool's name (CLIENT SETNAME). */
export function openCluster(opts: ResolvedRedisOptions, cluster: ResolvedCluster, extra: Partial<ClusterOptions>, node: RedisOptions = {}): Cluster {
  const redisOptions = connectionOptions(opts, node);
  const c = new (loadIoredis().Cluster)([...cluster.nodes], { ...cluster.options, ...extra, redisOptions });
  // connectionOptions() leaves ioredis's commandTimeout out: lifeguard applies it, sparing blocking commands
  applyCommandTimeout(c, commandTimeoutOf(opts));
  return c;
}

/** The connections a cluster client has open now: node connections and its subscriber connections. */
export function openNodeConnections(c: Cluster): Redis[] {
  const out: Redis[] = [];
  const live = (r: Redis | null | undefined): void => {
    if (r && (r.status === 'ready' || r.status === 'connect')) out.push(r);
  };
  for (const r of c.nodes('all')) live(r);
  // ioredis internals (5.x): the pub/sub connection and the sharded subscribers
  const i = c as unknown as {
    subscriber?: { getInstance?(): Redis | null };
    shardedSubscribers?: { shardedSubscribers?: Map<string, { getInstance?(): Redis | null }> };
  };
  live(i.subscriber?.getInstance?.());
  for (const s of i.shardedSubscribers?.shardedSubscribers?.values() ?? []) live(s.getInstance?.());
  return out;
}

/** `host:port` of a node connection (as the cluster announces the node). */
export function nodeKey(r: Redis): string {
  return `${r.options.host ?? '127.0.0.1'}:${r.options.port ?? 6379}`;
}

/** Adds up `clients`' open connections per node, for `nodeStats()`. */
export function countPerNode(clients: Iterable<Cluster>, roles: Cluster | undefined, max: number): RedisNodeStats[] {
  const counts = new Map<string, number>();
  const role = new Map<string, 'master' | 'replica'>();
  if (roles) {
    for (const r of roles.nodes('master')) role.set(nodeKey(r), 'master');
    for (const r of roles.nodes('slave')) role.set(nodeKey(r), 'replica');
    for (const k of role.keys()) counts.set(k, 0);
  }
  for (const c of clients) {
    for (const r of openNodeConnections(c)) {
      const k = nodeKey(r);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([node, connections]) => Object.freeze({ node, role: role.get(node) ?? 'master', connections, max }));
}

/**
 * Pooled connections of a cluster pool: each one a `Cluster` that connects lazily to
 * the nodes its commands go to. A dirty one (MULTI, WATCH, subscriber mode) is closed
 * rather than reset: on a cluster, UNWATCH and DISCARD may reach another node.
 */
export class ClusterDriver implements Driver<Cluster, Cluster> {
  readonly kind = 'redis' as const;
  readonly server: ServerAddress;
  readonly #opts: ResolvedRedisOptions;
  readonly #cluster: ResolvedCluster;
  readonly #clients: Set<Cluster>;

  /** `clients`: where every cluster client of the pool is registered, for per-node counts. */
  constructor(opts: ResolvedRedisOptions, cluster: ResolvedCluster, clients: Set<Cluster>) {
    this.#opts = opts;
    this.#cluster = cluster;
    this.#clients = clients;
    this.server = cluster.server;
  }

  async create(): Promise<Cluster> {
    const c = openCluster(this.#opts, this.#cluster, { lazyConnect: true, clusterRetryStrategy: () => null });
    let last: unknown;
    const onError = (err: unknown): void => {
      last = err;
    };
    c.on('error', onError);
    try {
      await withTimeout(c.connect(), this.#opts.common.connectTimeoutMs, 'cluster connect');
      if (c.status !== 'ready') throw last ?? new Error(`cluster ${c.status}`);
    } catch (err) {
      c.disconnect();
      throw scrubError(err instanceof Error && /refresh slots cache|None of startup nodes/i.test(err.message) && last instanceof Error ? new Error(`${err.message}: ${last.message}`, { cause: last }) : err, this.#opts.secrets);
    } finally {
      c.removeListener('error', onError);
      c.on('error', noop);
    }
    this.#clients.add(c);
    c.once('end', () => this.#clients.delete(c));
    return c;
  }

  destroy(c: Cluster): Promise<void> {
    this.#clients.delete(c);
    return closeCluster(c, this.#opts.common.connectTimeoutMs);
  }

  async validate(c: Cluster): Promise<boolean> {
    if (c.status !== 'ready') return false;
    try {
      return (await withTimeout(c.ping(), this.#opts.common.connectTimeoutMs, 'PING')) === 'PONG';
    } catch {
      return false;
    }
  }

  watch(c: Cluster, onBroken: (error: Error | undefined) => void): void {
    // node errors are ioredis' to handle (MOVED, failover); the client breaks when the cluster does
    c.on('error', (err: Error) => onBroken(scrubError(err, this.#opts.secrets)));
    c.once('end', () => onBroken(undefined));
  }

  dirtyReason(c: Cluster): string | undefined {
    if (c.status !== 'ready') return `connection ${c.status}`;
    const s = connState(c as unknown as Redis);
    if (s.poisoned !== undefined) return s.poisoned;
    const reasons: string[] = [];
    if (s.inMulti) reasons.push('MULTI without EXEC');
    if (s.watched) reasons.push('WATCH');
    return reasons.length > 0 ? reasons.join(', ') : undefined;
  }

  reset(): Promise<string | undefined> {
    return Promise.resolve(undefined);
  }

  isClosed(c: Cluster): boolean {
    return c.status === 'end' || c.status === 'close' || c.status === 'disconnecting';
  }

  wrap(c: Cluster, lease: LeaseHandle): Cluster {
    return leaseClient(c as unknown as Redis, lease) as unknown as Cluster;
  }
}

/** QUIT on every node when ready, else disconnect; bounded. */
export function closeCluster(c: Cluster, timeoutMs: number): Promise<void> {
  return closeBounded(c, timeoutMs);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  p.catch(noop);
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
      timer.unref?.();
    }),
  ]).finally(() => clearTimeout(timer));
}

function noop(): void {}

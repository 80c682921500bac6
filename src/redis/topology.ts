/**
 * Issue 17: where a Redis pool's connections come from. A single server and a
 * Sentinel-managed master are ioredis `Redis` clients (Sentinel through
 * `redisOptions.sentinels`); a cluster's are ioredis `Cluster` clients. The pool asks
 * here for its shared client, its dedicated connections and its pooled-connection
 * driver, and for a cluster, counts connections per node.
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { loadIoredis } from '../core/peer.js';
import type { Driver } from '../core/driver.js';
import { ClusterDriver, countPerNode, openCluster, type RedisNodeStats } from './cluster.js';
import { applyCommandTimeout, boundHandshake, closeBounded } from './connection.js';
import { commandTimeoutOf, connectionOptions, RedisDriver } from './driver.js';
import type { ResolvedRedisOptions } from './options.js';

/** The client of a Redis pool: `Redis` for a server or Sentinel, `Cluster` for a cluster. */
export type RedisClient = Redis | Cluster;

type Retry = (times: number) => number | null;

/** A pool's connection factory. */
export class Topology<C extends RedisClient> {
  readonly #opts: ResolvedRedisOptions;
  /** Every cluster client of the pool that is open (cluster pools only). */
  readonly #clusters = new Set<Cluster>();

  constructor(opts: ResolvedRedisOptions) {
    this.#opts = opts;
  }

  /** The driver of pooled connections. */
  driver(): Driver<C, C> {
    const o = this.#opts;
    return (o.cluster ? new ClusterDriver(o, o.cluster, this.#clusters) : new RedisDriver(o)) as unknown as Driver<C, C>;
  }

  /** The shared client: connects now, reconnects with `retry`. */
  shared(retry: Retry): C {
    const o = this.#opts;
    if (o.cluster) return this.#track(openCluster(o, o.cluster, { clusterRetryStrategy: retry })) as C;
    return this.#single(connectionOptions(o, { retryStrategy: retry }), 'shared client') as C;
  }

  /** A dedicated connection (subscriber, dedicated), not connected yet. */
  dedicated(retry: Retry, kind: 'subscriber' | 'dedicated'): C {
    const o = this.#opts;
    if (o.cluster) {
      // sharded pub/sub (Redis 7): one connection per shard that has SSUBSCRIBEd channels
      return this.#track(openCluster(o, o.cluster, { lazyConnect: true, clusterRetryStrategy: retry, shardedSubscribers: kind === 'subscriber' })) as C;
    }
    return this.#single(connectionOptions(o, { lazyConnect: true, retryStrategy: retry }), `${kind} connection`) as C;
  }

  /**
   * A connection for `client.duplicate()`: the pool's options, then
   * `duplicateOptions`, then the caller's `overrides`; the name stays lifeguard's.
   */
  duplicate(retry: Retry, overrides: RedisOptions | undefined): C {
    const o = this.#opts;
    const node: RedisOptions = { ...o.duplicateOptions, ...overrides, lazyConnect: true };
    delete node.connectionName;
    if (o.cluster) return this.#track(openCluster(o, o.cluster, { lazyConnect: true, clusterRetryStrategy: retry }, node)) as C;
    return this.#single(connectionOptions(o, { ...node, retryStrategy: retry }), 'duplicate() connection') as C;
  }

  /**
   * One server's (or Sentinel's master's) connection: the command timeout that spares
   * blocking commands, and every (re)connection step bounded by connectTimeoutMs.
   */
  #single(options: RedisOptions, what: string): Redis {
    const o = this.#opts;
    const r = new (loadIoredis().Redis)(o.url, options);
    applyCommandTimeout(r, commandTimeoutOf(o));
    boundHandshake(r, o.common.connectTimeoutMs, `redis pool "${o.common.name}" ${what}`);
    return r;
  }

  #track(c: Cluster): Cluster {
    this.#clusters.add(c);
    c.once('end', () => this.#clusters.delete(c));
    return c;
  }

  /** Connections per node of a cluster pool (empty for a single server). */
  nodeStats(shared: C): RedisNodeStats[] {
    if (!this.#opts.cluster) return [];
    return countPerNode(this.#clusters, shared as Cluster, this.#opts.common.max);
  }
}

/** Closes a client (a cluster: every node): QUIT when connected, else disconnect; bounded by `timeoutMs`. */
export function closeClient(r: RedisClient, timeoutMs: number): Promise<void> {
  return closeBounded(r, timeoutMs);
}

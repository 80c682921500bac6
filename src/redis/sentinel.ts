/**
 * Redis Sentinel (issue 17). A Sentinel-managed master is an ordinary ioredis `Redis`
 * with `sentinels` and `name`: every connection the pool opens asks the sentinels where
 * the master is. lifeguard adds three things:
 * - the `failover` event, when the shared client reconnects to a different master;
 * - a grace window: connection failures during a failover (the old master kills its
 *   clients, answers READONLY, the sentinels still name it for a moment) do not count
 *   toward the circuit breaker, unless the sentinels themselves are unreachable;
 * - `failoverDetector`, so ioredis reconnects as soon as the sentinels announce
 *   `+switch-master` instead of waiting for the old master to close the connection.
 */
import type { Redis, RedisOptions } from 'ioredis';
import type { OptionChecker } from '../core/options.js';

/** A sentinel's address. */
export interface SentinelAddress {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 26379 */
  port?: number;
}

/** The `sentinel` option of a Redis pool. */
export interface RedisSentinelOptions {
  /** The sentinels to ask for the master (at least one). No default. */
  sentinels: readonly SentinelAddress[];
  /** The master's name in the sentinels' configuration (`sentinel monitor <name> …`). No default. */
  name: string;
  /**
   * Username for the sentinels (ACL), when they require one.
   * @default undefined
   */
  sentinelUsername?: string;
  /**
   * Password for the sentinels, when they require one.
   * @default undefined
   */
  sentinelPassword?: string;
  /**
   * How long after the first connection failure of an episode failures are taken for a
   * failover in progress and not fed to the circuit breaker ("All sentinels are
   * unreachable" always counts). 0 counts every failure, as without Sentinel.
   * @default 15000
   */
  failoverGraceMs?: number;
  /**
   * Subscribe to the sentinels' `+switch-master` and reconnect at once on a failover
   * (ioredis `failoverDetector`; one connection to a sentinel per client, outside the
   * budget, which counts connections to Redis, not to sentinels).
   * @default true
   */
  failoverDetector?: boolean;
}

/** Resolved Sentinel settings. */
export interface ResolvedSentinel {
  readonly name: string;
  readonly sentinels: readonly { readonly host: string; readonly port: number }[];
  readonly failoverGraceMs: number;
  /** What goes into every connection's ioredis options. */
  readonly redisOptions: Readonly<RedisOptions>;
  /** `sentinel://host:port,host:port/<name>`. */
  readonly target: string;
}

const SENTINEL_KEYS: ReadonlySet<string> = new Set(['sentinels', 'name', 'sentinelUsername', 'sentinelPassword', 'failoverGraceMs', 'failoverDetector']);

/** Checks the `sentinel` option. */
export function resolveSentinel(c: OptionChecker, value: unknown): ResolvedSentinel {
  const o = c.object('sentinel', value);
  c.unknownKeys('sentinel.', o, SENTINEL_KEYS, 'not a sentinel option; other ioredis options go in redisOptions');
  if (!Array.isArray(o.sentinels) || o.sentinels.length === 0) c.fail('sentinel.sentinels', 'a non-empty array of { host, port }', o.sentinels);
  const sentinels = (o.sentinels as unknown[]).map((s, i) => {
    const a = c.object(`sentinel.sentinels[${i}]`, s);
    const host = a.host === undefined ? '127.0.0.1' : c.string(`sentinel.sentinels[${i}].host`, a.host);
    const port = a.port === undefined ? 26379 : c.int(`sentinel.sentinels[${i}].port`, a.port, 1);
    return Object.freeze({ host, port });
  });
  const name = c.string('sentinel.name', o.name);
  const failoverGraceMs = o.failoverGraceMs === undefined ? 15_000 : c.int('sentinel.failoverGraceMs', o.failoverGraceMs, 0);
  if (o.failoverDetector !== undefined && typeof o.failoverDetector !== 'boolean') c.fail('sentinel.failoverDetector', 'a boolean', typeof o.failoverDetector);
  const redisOptions: RedisOptions = {
    sentinels: sentinels.map((s) => ({ ...s })),
    name,
    failoverDetector: o.failoverDetector !== false,
  };
  if (o.sentinelUsername !== undefined) redisOptions.sentinelUsername = c.string('sentinel.sentinelUsername', o.sentinelUsername);
  if (o.sentinelPassword !== undefined) redisOptions.sentinelPassword = c.string('sentinel.sentinelPassword', o.sentinelPassword);
  return Object.freeze({
    name,
    sentinels: Object.freeze(sentinels),
    failoverGraceMs,
    redisOptions: Object.freeze(redisOptions),
    target: `sentinel://${sentinels.map((s) => `${s.host}:${s.port}`).join(',')}/${name}`,
  });
}

/** The address a connected client talks to, `host:port`; undefined when not connected. */
export function remoteOf(r: Redis): string | undefined {
  const s = (r as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }).stream;
  return s?.remoteAddress === undefined ? undefined : `${s.remoteAddress}:${s.remotePort ?? '?'}`;
}

/**
 * Follows the master the shared client is connected to and decides which connection
 * failures count toward the breaker.
 */
export class FailoverWatch {
  readonly #graceMs: number;
  #master: string | undefined;
  /** Start of the current run of failures (performance.now()), undefined while healthy. */
  #since: number | undefined;

  constructor(graceMs: number) {
    this.#graceMs = graceMs;
  }

  /** The master the shared client was last connected to. */
  get master(): string | undefined {
    return this.#master;
  }

  /**
   * The shared client is ready again on `address`: returns the previous master when it
   * changed (a failover), else undefined.
   */
  ready(address: string | undefined): { from: string | undefined; to: string } | undefined {
    this.#since = undefined;
    if (address === undefined) return undefined;
    const from = this.#master;
    this.#master = address;
    return from !== undefined && from !== address ? { from, to: address } : undefined;
  }

  /** Whether a connection failure should count toward the breaker (and reconnect backoff of pooled opens). */
  counts(error: unknown): boolean {
    if (this.#graceMs === 0) return true;
    const message = error instanceof Error ? error.message : String(error);
    if (/All sentinels are unreachable/i.test(message)) return true;
    const now = performance.now();
    this.#since ??= now;
    return now - this.#since > this.#graceMs;
  }

  /** A connection opened or a check passed: the episode is over. */
  healthy(): void {
    this.#since = undefined;
  }
}

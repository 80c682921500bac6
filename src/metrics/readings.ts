/**
 * What both exporters read at collect time: every open pool's stats and meter, with
 * its identifying attributes built once per pool. One reading serves every
 * instrument of one collection (kept until the next microtask).
 */
import type { DestroyReason } from '../core/events.js';
import { type LeakKind, liveMeters, type PoolMeter } from '../core/meter.js';
import type { PoolStats } from '../core/pool.js';

/** `db.system.name` of each driver. */
export const SYSTEM_NAME = { pg: 'postgresql', redis: 'redis' } as const;

/** The identifying attributes of a pool, by their OpenTelemetry names. */
export interface PoolAttributes {
  readonly 'db.client.connection.pool.name': string;
  readonly 'db.system.name': 'postgresql' | 'redis';
  readonly 'server.address'?: string;
  readonly 'server.port'?: number;
}

/** The same, as Prometheus labels (what OpenTelemetry's Prometheus exporter renders). */
export interface PoolLabels {
  readonly db_client_connection_pool_name: string;
  readonly db_system_name: 'postgresql' | 'redis';
  readonly server_address?: string;
  readonly server_port?: string;
}

/** One pool at collect time. */
export interface PoolReading {
  readonly meter: PoolMeter;
  readonly stats: PoolStats;
  readonly attributes: PoolAttributes;
  readonly labels: PoolLabels;
}

export const LEAK_KINDS: readonly LeakKind[] = ['held-too-long', 'lost', 'unreleased-at-close', 'subscriber-lost'];
export const BUDGET_KINDS = ['available', 'pooled', 'shared', 'dedicated', 'listener', 'subscriber'] as const;
export const CIRCUIT_STATES = ['closed', 'open', 'half-open'] as const;

const identity = new WeakMap<PoolMeter, { attributes: PoolAttributes; labels: PoolLabels }>();

export function identify(m: PoolMeter): { attributes: PoolAttributes; labels: PoolLabels } {
  let id = identity.get(m);
  if (id === undefined) {
    const system = SYSTEM_NAME[m.pool.kind];
    const s = m.server;
    const attributes: PoolAttributes = {
      'db.client.connection.pool.name': m.pool.name,
      'db.system.name': system,
      ...(s === undefined ? {} : { 'server.address': s.address }),
      ...(s?.port === undefined ? {} : { 'server.port': s.port }),
    };
    const labels: PoolLabels = {
      db_client_connection_pool_name: m.pool.name,
      db_system_name: system,
      ...(s === undefined ? {} : { server_address: s.address }),
      ...(s?.port === undefined ? {} : { server_port: String(s.port) }),
    };
    id = { attributes: Object.freeze(attributes), labels: Object.freeze(labels) };
    identity.set(m, id);
  }
  return id;
}

let cached: PoolReading[] | undefined;

/** Every open pool, read now (the same array for every caller until the next microtask). */
export function readPools(): readonly PoolReading[] {
  if (cached !== undefined) return cached;
  const out: PoolReading[] = [];
  for (const meter of liveMeters) {
    const id = identify(meter);
    out.push({ meter, stats: meter.pool.stats(), attributes: id.attributes, labels: id.labels });
  }
  cached = out;
  queueMicrotask(() => {
    cached = undefined;
  });
  return out;
}

/** The effective connection ceiling: the server-imposed one when a pool has met it, else `max`. */
export function ceilingOf(stats: PoolStats): number {
  const c = (stats as { readonly ceiling?: number | undefined }).ceiling;
  return c === undefined ? stats.max : Math.min(c, stats.max);
}

/** Destroy reasons in `stats().destroyed`. */
export function destroyReasons(stats: PoolStats): DestroyReason[] {
  return Object.keys(stats.destroyed) as DestroyReason[];
}

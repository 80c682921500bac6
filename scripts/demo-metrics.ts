/**
 * Interim stand-in for `lifeguard/prometheus` (being built for the metrics issue):
 * the same call shape, `registerPrometheus(registry)` on a registry whose
 * `metrics()` returns the Prometheus text, and the same series names, read from each
 * pool's `stats()` and the event stream.
 *
 * TODO(metrics issue): delete this file once `lifeguard/prometheus` exports
 * `registerPrometheus(registry?)`; scripts/demo.ts then imports it and prom-client's
 * `Registry` instead (the one line marked there).
 */
import { getPoolManager, type LifeguardEvent, type PoolStats } from 'lifeguard';

/** lifeguard's process-wide registry of open pools (shared by every copy through Symbol.for). */
interface Registered {
  stats(): PoolStats;
}
function openPools(): PoolStats[] {
  const reg = (globalThis as Record<symbol, { pools: Set<Registered> } | undefined>)[Symbol.for('lifeguard.registry')];
  return reg === undefined ? [] : [...reg.pools].map((p) => p.stats());
}

/** The part of prom-client's `Registry` the demo uses. */
export class Registry {
  readonly collectors: (() => string[])[] = [];
  metrics(): Promise<string> {
    return Promise.resolve(`${this.collectors.flatMap((c) => c()).join('\n')}\n`);
  }
}

const LEAK_KINDS = ['held-too-long', 'lost', 'unreleased-at-close', 'subscriber-lost'] as const;

/** Same name and shape as lifeguard/prometheus's; returns the unregister function. */
export function registerPrometheus(registry: Registry): () => void {
  const leaks = new Map<string, number>();
  const nested = new Map<string, number>();
  const onEvent = (e: LifeguardEvent): void => {
    if (e.type === 'leak') leaks.set(`${e.pool}\0${e.kind}`, (leaks.get(`${e.pool}\0${e.kind}`) ?? 0) + 1);
    if (e.type === 'nested-acquire') nested.set(e.pool, (nested.get(e.pool) ?? 0) + 1);
  };
  getPoolManager().on('event', onEvent);
  const collect = (): string[] => {
    const pools = openPools();
    const out: string[] = [];
    const family = (name: string, type: string, help: string, rows: [PoolStats, Record<string, string>, number][]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [s, extra, v] of rows) {
        const labels = { db_client_connection_pool_name: s.name, db_system_name: s.driver === 'pg' ? 'postgresql' : 'redis', ...extra };
        out.push(`${name}{${Object.entries(labels).map(([k, val]) => `${k}="${val}"`).join(',')}} ${v}`);
      }
    };
    family('db_client_connection_count', 'gauge', 'Connections in the state described by the state attribute.',
      pools.flatMap((s) => [[s, { db_client_connection_state: 'idle' }, s.idle], [s, { db_client_connection_state: 'used' }, s.active]] as [PoolStats, Record<string, string>, number][]));
    family('db_client_connection_max', 'gauge', "The pool's whole connection budget.", pools.map((s) => [s, {}, s.max]));
    family('db_client_connection_pending_requests', 'gauge', 'Callers waiting for a connection.', pools.map((s) => [s, {}, s.pending]));
    family('db_client_connection_timeouts_total', 'counter', 'Acquires that timed out.', pools.map((s) => [s, {}, s.timeouts]));
    family('db_client_connection_wait_time_seconds', 'summary', 'Time callers waited for a connection (latest 1,024).',
      pools.flatMap((s) => [[s, { quantile: '0.5' }, s.waitMs.p50 / 1000], [s, { quantile: '0.99' }, s.waitMs.p99 / 1000]] as [PoolStats, Record<string, string>, number][]));
    family('db_client_connection_use_time_seconds', 'summary', 'Time connections were held (latest 1,024).',
      pools.flatMap((s) => [[s, { quantile: '0.5' }, s.heldMs.p50 / 1000], [s, { quantile: '0.99' }, s.heldMs.p99 / 1000]] as [PoolStats, Record<string, string>, number][]));
    family('lifeguard_leaks_total', 'counter', 'Leases reported as leaked, by kind.',
      pools.flatMap((s) => LEAK_KINDS.map((k) => [s, { kind: k }, leaks.get(`${s.name}\0${k}`) ?? 0] as [PoolStats, Record<string, string>, number])));
    family('lifeguard_connections_destroyed_total', 'counter', 'Pooled connections closed, by reason.',
      pools.flatMap((s) => Object.entries(s.destroyed).filter(([, n]) => n > 0).map(([r, n]) => [s, { reason: r }, n] as [PoolStats, Record<string, string>, number])));
    family('lifeguard_nested_acquires_total', 'counter', 'Acquires made while already holding a lease of the pool.', pools.map((s) => [s, {}, nested.get(s.name) ?? 0]));
    family('lifeguard_circuit_state', 'gauge', 'Circuit breaker state: 1 for the current state.',
      pools.flatMap((s) => (['closed', 'open', 'half-open'] as const).map((st) => [s, { state: st }, s.circuit === st ? 1 : 0] as [PoolStats, Record<string, string>, number])));
    family('lifeguard_budget_permits', 'gauge', 'Connection budget permits by holder kind, and available.',
      pools.flatMap((s) => Object.entries(s.budget).map(([k, n]) => [s, { kind: k }, n] as [PoolStats, Record<string, string>, number])));
    return out;
  };
  registry.collectors.push(collect);
  return () => {
    getPoolManager().off('event', onEvent);
    registry.collectors.splice(registry.collectors.indexOf(collect), 1);
  };
}

/**
 * `lifeguard/prometheus`: every lifeguard pool of the process on a prom-client
 * registry, in one line: `registerPrometheus()`.
 *
 * Series are named as OpenTelemetry's Prometheus exporter renders the database
 * client semantic conventions (`db.client.connection.wait_time` →
 * `db_client_connection_wait_time_seconds`), so `lifeguard/otel` behind a Prometheus
 * exporter gives the same series. Values are read from the pools when the registry
 * is collected: nothing is recorded through prom-client on the hot path.
 */
import { register as globalRegistry, type Metric, type Registry } from 'prom-client';
import { DURATION_BUCKETS_S, type Histogram } from '../core/histogram.js';
import { BUDGET_KINDS, CIRCUIT_STATES, ceilingOf, destroyReasons, LEAK_KINDS, type PoolLabels, type PoolReading, readPools } from './readings.js';

/** One line of a metric family. */
interface Sample {
  value: number;
  labels: Readonly<Record<string, string>>;
  sharedLabels: PoolLabels;
  metricName?: string;
}

type Kind = 'counter' | 'gauge' | 'histogram';

/** A prom-client metric whose values are read from the pools at collect time. */
class PoolCollector {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: Kind,
    readonly read: (pool: PoolReading, out: Sample[]) => void,
  ) {}
  get(): Promise<{ name: string; help: string; type: Kind; aggregator: 'sum'; values: Sample[] }> {
    const values: Sample[] = [];
    for (const p of readPools()) this.read(p, values);
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }
  reset(): void {}
}

const NO_LABELS: Readonly<Record<string, string>> = Object.freeze({});
const labelSet = <K extends string>(name: string, values: readonly K[]): Record<K, Readonly<Record<string, string>>> =>
  Object.fromEntries(values.map((v) => [v, Object.freeze({ [name]: v as string })])) as Record<K, Readonly<Record<string, string>>>;
const STATE = labelSet('db_client_connection_state', ['idle', 'used']);
const LEAK = labelSet('kind', LEAK_KINDS);
const BUDGET = labelSet('kind', BUDGET_KINDS);
const CIRCUIT = labelSet('state', CIRCUIT_STATES);
const REASON = new Map<string, Readonly<Record<string, string>>>();
const reason = (r: string): Readonly<Record<string, string>> => {
  let l = REASON.get(r);
  if (l === undefined) REASON.set(r, (l = Object.freeze({ reason: r })));
  return l;
};
const LE = [...DURATION_BUCKETS_S.map((b) => String(b)), '+Inf'].map((le) => Object.freeze({ le }));

function one(name: string, help: string, type: Kind, value: (p: PoolReading) => number): PoolCollector {
  return new PoolCollector(name, help, type, (p, out) => {
    out.push({ value: value(p), labels: NO_LABELS, sharedLabels: p.labels });
  });
}

function histogram(name: string, help: string, pick: (p: PoolReading) => Histogram): PoolCollector {
  return new PoolCollector(name, help, 'histogram', (p, out) => {
    const h = pick(p);
    let cumulative = 0;
    for (let i = 0; i < h.counts.length; i++) {
      cumulative += h.counts[i]!;
      out.push({ metricName: `${name}_bucket`, value: cumulative, labels: LE[i]!, sharedLabels: p.labels });
    }
    out.push({ metricName: `${name}_sum`, value: h.sumMs / 1000, labels: NO_LABELS, sharedLabels: p.labels });
    out.push({ metricName: `${name}_count`, value: h.count, labels: NO_LABELS, sharedLabels: p.labels });
  });
}

/** The series lifeguard exposes, in exposition order. */
function collectors(): PoolCollector[] {
  return [
    new PoolCollector('db_client_connection_count', 'The number of connections that are currently in the state described by the state attribute.', 'gauge', (p, out) => {
      out.push({ value: p.stats.idle, labels: STATE.idle, sharedLabels: p.labels });
      out.push({ value: p.stats.active, labels: STATE.used, sharedLabels: p.labels });
    }),
    one('db_client_connection_max', 'The maximum number of open connections allowed (the pool\'s whole budget).', 'gauge', (p) => p.stats.max),
    one('db_client_connection_idle_min', 'The minimum number of idle open connections allowed.', 'gauge', (p) => p.stats.min),
    one('db_client_connection_pending_requests', 'The number of current pending requests for an open connection.', 'gauge', (p) => p.stats.pending),
    one('db_client_connection_timeouts_total', 'The number of connection timeouts that have occurred trying to obtain a connection from the pool.', 'counter', (p) => p.stats.timeouts),
    histogram('db_client_connection_create_time_seconds', 'The time it took to create a new connection.', (p) => p.meter.create),
    histogram('db_client_connection_wait_time_seconds', 'The time it took to obtain an open connection from the pool.', (p) => p.meter.wait),
    histogram('db_client_connection_use_time_seconds', 'The time between borrowing a connection and returning it to the pool.', (p) => p.meter.use),
    new PoolCollector('lifeguard_leaks_total', 'Leases reported as leaked, by kind (held-too-long, lost, unreleased-at-close, subscriber-lost).', 'counter', (p, out) => {
      for (const k of LEAK_KINDS) out.push({ value: p.meter.leaks[k], labels: LEAK[k], sharedLabels: p.labels });
    }),
    new PoolCollector('lifeguard_connections_destroyed_total', 'Pooled connections closed, by reason.', 'counter', (p, out) => {
      const d = p.stats.destroyed;
      for (const r of destroyReasons(p.stats)) out.push({ value: d[r], labels: reason(r), sharedLabels: p.labels });
    }),
    one('lifeguard_nested_acquires_total', 'Acquires made while the same async context already held a lease of the pool (the nested-acquire deadlock pattern).', 'counter', (p) => p.meter.nestedAcquires),
    new PoolCollector('lifeguard_circuit_state', 'Circuit breaker state: 1 for the current state, 0 for the others.', 'gauge', (p, out) => {
      for (const s of CIRCUIT_STATES) out.push({ value: p.stats.circuit === s ? 1 : 0, labels: CIRCUIT[s], sharedLabels: p.labels });
    }),
    one('lifeguard_healthy', 'The health checks\' verdict: 1 healthy, 0 unhealthy.', 'gauge', (p) => (p.stats.healthy ? 1 : 0)),
    new PoolCollector('lifeguard_budget_permits', 'Connection budget permits by holder kind, and available (free).', 'gauge', (p, out) => {
      const b = p.stats.budget;
      for (const k of BUDGET_KINDS) out.push({ value: b[k], labels: BUDGET[k], sharedLabels: p.labels });
    }),
    one('lifeguard_connection_ceiling', 'Effective ceiling on connections: max, or lower when the server refused connections (its connection limit).', 'gauge', (p) => ceilingOf(p.stats)),
  ];
}

/** Names of the series `registerPrometheus()` adds, for reference and tests. */
export const PROMETHEUS_SERIES: readonly string[] = Object.freeze(collectors().map((c) => c.name));

const registrations = new WeakMap<Registry, { count: number; names: readonly string[] }>();

/**
 * Registers every lifeguard pool of the process, present and future, on `registry`:
 * values are read from the pools at each scrape, so a pool created later appears
 * and a closed one disappears. Calling it again for the same registry shares the
 * registration. Returns a function that removes the series (once every caller has
 * called its own).
 *
 * @param registry the prom-client registry. @default prom-client's global `register`
 * @returns unregister: removes lifeguard's series from `registry`
 */
export function registerPrometheus(registry: Registry = globalRegistry): () => void {
  let reg = registrations.get(registry);
  if (reg === undefined) {
    const list = collectors();
    for (const c of list) registry.registerMetric(c as unknown as Metric);
    reg = { count: 0, names: list.map((c) => c.name) };
    registrations.set(registry, reg);
  }
  reg.count++;
  const held = reg;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--held.count > 0) return;
    for (const n of held.names) registry.removeSingleMetric(n);
    registrations.delete(registry);
  };
}

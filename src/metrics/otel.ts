/**
 * `lifeguard/otel`: every lifeguard pool of the process as OpenTelemetry metrics,
 * by the database client semantic conventions (`db.client.connection.*`), plus
 * lifeguard's own, and a span for each acquire that had to wait:
 * `registerOpenTelemetry()`.
 *
 * Counts and gauges are observed when the reader collects. The three duration
 * histograms are synchronous instruments in OpenTelemetry's API, so each value the
 * engine records is also passed to them (only while registered).
 */
import {
  context,
  metrics,
  type Attributes,
  type BatchObservableResult,
  type Histogram as OtelHistogram,
  type MeterProvider,
  type Observable,
  SpanKind,
  SpanStatusCode,
  trace,
  type TracerProvider,
} from '@opentelemetry/api';
import dc from 'node:diagnostics_channel';
import { ACQUIRE_CHANNEL, type AcquireMessage } from '../core/channels.js';
import { DURATION_BUCKETS_S, type Histogram } from '../core/histogram.js';
import { liveMeters, onMeterOpen, type PoolMeter } from '../core/meter.js';
import { BUDGET_KINDS, CIRCUIT_STATES, ceilingOf, destroyReasons, identify, LEAK_KINDS, readPools, SYSTEM_NAME } from './readings.js';

/** Options of {@link registerOpenTelemetry}. */
export interface OpenTelemetryOptions {
  /**
   * Where the instruments are created.
   * @default the global provider (`metrics.getMeterProvider()`)
   */
  meterProvider?: MeterProvider;
  /**
   * Where acquire spans go.
   * @default the global provider (`trace.getTracerProvider()`)
   */
  tracerProvider?: TracerProvider;
  /**
   * A span (`lifeguard.acquire`) for each acquire that had to wait or failed. While on,
   * every acquire is traced through the `lifeguard:acquire` diagnostics channel.
   * @default true
   */
  spans?: boolean;
}

/** The instrumentation scope name of lifeguard's meter and tracer. */
export const INSTRUMENTATION_SCOPE = 'lifeguard';

type Which = 'wait' | 'use' | 'create';
type Recorders = Record<Which, OtelHistogram>;

/** Every live registration's histograms; a pool's sinks pass each value to all of them. */
const recorders = new Set<Recorders>();

function installSinks(meter: PoolMeter): void {
  const attrs: Attributes = identify(meter).attributes as unknown as Attributes;
  for (const which of ['wait', 'use', 'create'] as const) {
    const h: Histogram = meter[which];
    if (recorders.size === 0) {
      h.sink = undefined;
    } else if (recorders.size === 1) {
      const [r] = recorders;
      const target = r![which];
      h.sink = (s) => target.record(s, attrs);
    } else {
      const targets = [...recorders].map((r) => r[which]);
      h.sink = (s) => {
        for (const t of targets) t.record(s, attrs);
      };
    }
  }
}

function installAll(): void {
  for (const m of liveMeters) installSinks(m);
  if (recorders.size > 0) onMeterOpen.add(installSinks);
  else onMeterOpen.delete(installSinks);
}

/**
 * Registers every lifeguard pool of the process, present and future, with
 * OpenTelemetry: the `db.client.connection.*` instruments (`count` by
 * `db.client.connection.state`, `max`, `idle.min`, `pending_requests`, `timeouts`,
 * `create_time`, `wait_time`, `use_time`) with `db.client.connection.pool.name`,
 * `db.system.name`, `server.address` and `server.port`; lifeguard's `lifeguard.leaks`,
 * `lifeguard.connections.destroyed`, `lifeguard.nested_acquires`,
 * `lifeguard.circuit.state`, `lifeguard.healthy`, `lifeguard.budget.permits`,
 * `lifeguard.connection.ceiling`; and a `lifeguard.acquire` span for each acquire
 * that waited. Returns a function that undoes it.
 *
 * @param options providers (default: the global ones) and whether to make spans (default: true)
 * @returns unregister
 */
export function registerOpenTelemetry(options: OpenTelemetryOptions = {}): () => void {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE);
  const advice = { explicitBucketBoundaries: [...DURATION_BUCKETS_S] };
  const hist: Recorders = {
    create: meter.createHistogram('db.client.connection.create_time', { unit: 's', description: 'The time it took to create a new connection.', advice }),
    wait: meter.createHistogram('db.client.connection.wait_time', { unit: 's', description: 'The time it took to obtain an open connection from the pool.', advice }),
    use: meter.createHistogram('db.client.connection.use_time', { unit: 's', description: 'The time between borrowing a connection and returning it to the pool.', advice }),
  };
  const count = meter.createObservableUpDownCounter('db.client.connection.count', { unit: '{connection}', description: 'The number of connections that are currently in the state described by the state attribute.' });
  const max = meter.createObservableUpDownCounter('db.client.connection.max', { unit: '{connection}', description: 'The maximum number of open connections allowed.' });
  const idleMin = meter.createObservableUpDownCounter('db.client.connection.idle.min', { unit: '{connection}', description: 'The minimum number of idle open connections allowed.' });
  const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', { unit: '{request}', description: 'The number of current pending requests for an open connection.' });
  const timeouts = meter.createObservableCounter('db.client.connection.timeouts', { unit: '{timeout}', description: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool.' });
  const leaks = meter.createObservableCounter('lifeguard.leaks', { unit: '{leak}', description: 'Leases reported as leaked, by kind.' });
  const destroyed = meter.createObservableCounter('lifeguard.connections.destroyed', { unit: '{connection}', description: 'Pooled connections closed, by reason.' });
  const nested = meter.createObservableCounter('lifeguard.nested_acquires', { unit: '{acquire}', description: 'Acquires made while the same async context already held a lease of the pool.' });
  const circuit = meter.createObservableGauge('lifeguard.circuit.state', { description: 'Circuit breaker state: 1 for the current state, 0 for the others.' });
  const healthy = meter.createObservableGauge('lifeguard.healthy', { description: "The health checks' verdict: 1 healthy, 0 unhealthy." });
  const permits = meter.createObservableGauge('lifeguard.budget.permits', { unit: '{permit}', description: 'Connection budget permits by holder kind, and available.' });
  const ceiling = meter.createObservableGauge('lifeguard.connection.ceiling', { unit: '{connection}', description: 'Effective ceiling on connections: max, or lower when the server refused connections.' });
  const observables: Observable[] = [count, max, idleMin, pending, timeouts, leaks, destroyed, nested, circuit, healthy, permits, ceiling];

  const observe = (r: BatchObservableResult): void => {
    for (const p of readPools()) {
      const a = p.attributes as unknown as Attributes;
      const s = p.stats;
      r.observe(count, s.idle, { ...a, 'db.client.connection.state': 'idle' });
      r.observe(count, s.active, { ...a, 'db.client.connection.state': 'used' });
      r.observe(max, s.max, a);
      r.observe(idleMin, s.min, a);
      r.observe(pending, s.pending, a);
      r.observe(timeouts, s.timeouts, a);
      for (const k of LEAK_KINDS) r.observe(leaks, p.meter.leaks[k], { ...a, kind: k });
      for (const reason of destroyReasons(s)) r.observe(destroyed, s.destroyed[reason], { ...a, reason });
      r.observe(nested, p.meter.nestedAcquires, a);
      for (const st of CIRCUIT_STATES) r.observe(circuit, s.circuit === st ? 1 : 0, { ...a, state: st });
      r.observe(healthy, s.healthy ? 1 : 0, a);
      for (const k of BUDGET_KINDS) r.observe(permits, s.budget[k], { ...a, kind: k });
      r.observe(ceiling, ceilingOf(s), a);
    }
  };
  meter.addBatchObservableCallback(observe, observables);
  recorders.add(hist);
  installAll();

  let unsubscribe: (() => void) | undefined;
  if (options.spans !== false) {
    const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);
    const onAsyncEnd = (message: unknown): void => {
      const msg = message as AcquireMessage;
      const failed = msg.error !== undefined;
      if (msg.waitMs <= 0 && !failed) return;
      const origin = performance.timeOrigin;
      const attributes: Attributes = {
        'db.system.name': SYSTEM_NAME[msg.driver],
        'db.client.connection.pool.name': msg.pool,
        'lifeguard.wait_ms': msg.waitMs,
      };
      for (const m of liveMeters) {
        if (m.pool.name === msg.pool && m.pool.kind === msg.driver && m.server !== undefined) {
          attributes['server.address'] = m.server.address;
          if (m.server.port !== undefined) attributes['server.port'] = m.server.port;
          break;
        }
      }
      if (msg.tag !== undefined) attributes['lifeguard.tag'] = msg.tag;
      const site = msg.site;
      if (site !== undefined) attributes['lifeguard.site'] = site;
      if (msg.leaseId !== undefined) attributes['lifeguard.lease_id'] = msg.leaseId;
      const span = tracer.startSpan(
        'lifeguard.acquire',
        { kind: SpanKind.INTERNAL, startTime: origin + msg.startedAt, attributes },
        context.active(),
      );
      if (failed) {
        const err = msg.error;
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        const code = (err as { code?: unknown } | null)?.code;
        if (typeof code === 'string') span.setAttribute('error.type', code);
      }
      span.end(origin + msg.startedAt + msg.waitMs);
    };
    // asyncEnd alone: for a rejection it comes after `error`, with msg.error set
    const channel = dc.tracingChannel(ACQUIRE_CHANNEL).asyncEnd;
    channel.subscribe(onAsyncEnd);
    unsubscribe = () => channel.unsubscribe(onAsyncEnd);
  }

  let done = false;
  return () => {
    if (done) return;
    done = true;
    meter.removeBatchObservableCallback(observe, observables);
    recorders.delete(hist);
    installAll();
    unsubscribe?.();
  };
}

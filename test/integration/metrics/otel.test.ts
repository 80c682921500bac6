import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type DataPoint, type Histogram, MeterProvider, MetricReader, type MetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AcquireTimeoutError } from '../../../src/index.js';
import { registerOpenTelemetry } from '../../../src/metrics/otel.js';
import { nextEvent } from '../../helpers/events.js';
import { testPgPool, testRedisPool } from '../../helpers/pools.js';

/** A reader the test collects from by hand (what an in-memory exporter sees). */
class TestReader extends MetricReader {
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

async function collect(reader: TestReader): Promise<Map<string, MetricData>> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).toEqual([]);
  return new Map(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
}

function point<T>(m: MetricData | undefined, attrs: Record<string, unknown>): DataPoint<T> | undefined {
  const pts = (m?.dataPoints ?? []) as DataPoint<T>[];
  const hits = pts.filter((d) => Object.entries(attrs).every(([k, v]) => d.attributes[k] === v));
  if (hits.length > 1) throw new Error(`${hits.length} points match ${JSON.stringify(attrs)}`);
  return hits[0];
}

const contextManager = new AsyncLocalStorageContextManager();
beforeAll(() => {
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(() => {
  contextManager.disable();
  context.disable();
});

let unregister: (() => void) | undefined;
afterEach(() => {
  unregister?.();
  unregister = undefined;
});

describe('lifeguard/otel', () => {
  it('an in-memory reader sees the db.client.connection.* instruments with the right values after known work', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const spans = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
    unregister = registerOpenTelemetry({ meterProvider, tracerProvider });
    // created after registration
    const { pool } = testPgPool({ max: 2, leakDetection: { thresholdMs: 50 } });
    const a = { 'db.client.connection.pool.name': pool.name, 'db.system.name': 'postgresql', 'server.address': '127.0.0.1', 'server.port': 5432 };

    for (let i = 0; i < 4; i++) await pool.query('select 1');
    const held = [await pool.acquire(), await pool.acquire()];
    const leaked = nextEvent(pool, 'leak', (e) => e.lease.id === held[1]!.id);
    const tracer = tracerProvider.getTracer('test');
    // a caller inside a request span waits and times out; another waits and gets a connection
    const [timedOut, parentId] = await tracer.startActiveSpan('GET /report', async (span) => {
      const err = await pool.acquire({ timeoutMs: 100 }).catch((e: unknown) => e);
      span.end();
      return [err, span.spanContext().spanId] as const;
    });
    expect(timedOut).toBeInstanceOf(AcquireTimeoutError);
    await leaked;
    const later = pool.acquire({ tag: 'waiter' });
    setTimeout(() => held[0]!.release(), 30);
    (await later).release();
    held[1]!.release();

    const m = await collect(reader);
    const acquires = 4 + 2 + 1;
    const wait = point<Histogram>(m.get('db.client.connection.wait_time'), a)!.value;
    expect(wait.count).toBe(acquires);
    expect(wait.sum).toBeGreaterThanOrEqual(0.025);
    expect(wait.buckets.boundaries).toEqual([0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
    expect(m.get('db.client.connection.wait_time')!.descriptor.unit).toBe('s');
    expect(point<Histogram>(m.get('db.client.connection.use_time'), a)!.value.count).toBe(acquires);
    expect(point<Histogram>(m.get('db.client.connection.create_time'), a)!.value.count).toBe(2);
    expect(point<number>(m.get('db.client.connection.timeouts'), a)!.value).toBe(1);
    expect(point<number>(m.get('db.client.connection.count'), { ...a, 'db.client.connection.state': 'idle' })!.value).toBe(2);
    expect(point<number>(m.get('db.client.connection.count'), { ...a, 'db.client.connection.state': 'used' })!.value).toBe(0);
    expect(point<number>(m.get('db.client.connection.max'), a)!.value).toBe(2);
    expect(point<number>(m.get('db.client.connection.idle.min'), a)!.value).toBe(0);
    expect(point<number>(m.get('db.client.connection.pending_requests'), a)!.value).toBe(0);
    expect(point<number>(m.get('lifeguard.leaks'), { ...a, kind: 'held-too-long' })!.value).toBe(2);
    expect(point<number>(m.get('lifeguard.circuit.state'), { ...a, state: 'closed' })!.value).toBe(1);
    expect(point<number>(m.get('lifeguard.healthy'), a)!.value).toBe(1);
    expect(point<number>(m.get('lifeguard.budget.permits'), { ...a, kind: 'pooled' })!.value).toBe(2);
    expect(point<number>(m.get('lifeguard.connection.ceiling'), a)!.value).toBe(2);
    expect(point<number>(m.get('lifeguard.nested_acquires'), a)!.value).toBe(0);
    expect(point<number>(m.get('lifeguard.connections.destroyed'), { ...a, reason: 'error' })!.value).toBe(0);

    // spans: only the acquires that waited (two for a new connection, the timed-out one, the
    // tagged waiter), none for those that found one free; the timed-out one is a child of the request span
    const acq = spans.getFinishedSpans().filter((s) => s.name === 'lifeguard.acquire');
    expect(acq).toHaveLength(4);
    expect(acq.filter((s) => s.status.code === 2)).toHaveLength(1);
    const failed = acq.find((s) => s.status.code === 2)!;
    expect(failed.parentSpanContext?.spanId).toBe(parentId);
    expect(failed.attributes['error.type']).toBe('ACQUIRE_TIMEOUT');
    expect(failed.attributes['db.client.connection.pool.name']).toBe(pool.name);
    expect(Number(failed.attributes['lifeguard.wait_ms'])).toBeGreaterThanOrEqual(95);
    const ok = acq.find((s) => s.attributes['lifeguard.tag'] === 'waiter')!;
    expect(ok.attributes['lifeguard.tag']).toBe('waiter');
    expect(Number(ok.attributes['lifeguard.wait_ms'])).toBeGreaterThanOrEqual(20);
    expect(String(ok.attributes['lifeguard.site'])).toContain('otel.test.ts');
    await meterProvider.shutdown();
  });

  it('a Redis pool is db.system.name "redis"; after unregister nothing more is recorded', async () => {
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    unregister = registerOpenTelemetry({ meterProvider, spans: false });
    const { pool } = testRedisPool({ max: 3 });
    await pool.withConnection((r) => r.ping());
    const a = { 'db.client.connection.pool.name': pool.name, 'db.system.name': 'redis', 'server.port': 6379 };
    let m = await collect(reader);
    expect(point<Histogram>(m.get('db.client.connection.wait_time'), a)!.value.count).toBe(1);
    expect(point<number>(m.get('lifeguard.budget.permits'), { ...a, kind: 'shared' })!.value).toBe(1);
    unregister();
    unregister = undefined;
    await pool.withConnection((r) => r.ping());
    m = await collect(reader);
    // the histogram kept what was recorded while registered, and got nothing after
    expect(point<Histogram>(m.get('db.client.connection.wait_time'), a)!.value.count).toBe(1);
    await meterProvider.shutdown();
  });
});

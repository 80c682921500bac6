import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { AcquireTimeoutError } from '../../../src/index.js';
import { PROMETHEUS_SERIES, registerPrometheus } from '../../../src/metrics/prometheus.js';
import { nextEvent } from '../../helpers/events.js';
import { sample } from '../../helpers/exposition.js';
import { testPgPool, testRedisPool } from '../../helpers/pools.js';

let unregister: (() => void) | undefined;
afterEach(() => {
  unregister?.();
  unregister = undefined;
});

describe('lifeguard/prometheus', () => {
  it('exposes the semantic-convention series with the right values after known work on PostgreSQL', async () => {
    const registry = new Registry();
    unregister = registerPrometheus(registry);
    // created after registration: it appears all the same
    const { pool } = testPgPool({ max: 2, leakDetection: { thresholdMs: 50 } });
    const p = { db_client_connection_pool_name: pool.name, db_system_name: 'postgresql', server_address: '127.0.0.1', server_port: '5432' };

    for (let i = 0; i < 5; i++) await pool.query('select 1');
    // exhaustion: both connections held, a third caller waits, then times out
    const held = [await pool.acquire(), await pool.acquire()];
    // they pass the 50 ms leak threshold: two held-too-long leaks
    const leaked = nextEvent(pool, 'leak', (e) => e.lease.id === held[1]!.id);
    const waiting = pool.acquire({ timeoutMs: 100 }).catch((e: unknown) => e);
    let text = await registry.metrics();
    expect(sample(text, 'db_client_connection_pending_requests', p)).toBe(1);
    expect(sample(text, 'db_client_connection_count', { ...p, db_client_connection_state: 'used' })).toBe(2);
    expect(sample(text, 'db_client_connection_count', { ...p, db_client_connection_state: 'idle' })).toBe(0);
    expect(sample(text, 'lifeguard_budget_permits', { ...p, kind: 'available' })).toBe(0);
    expect(await waiting).toBeInstanceOf(AcquireTimeoutError);
    await leaked;
    for (const l of held) l.release();
    // a nested acquire: query() inside withConnection in the same async context
    await pool.withConnection(async () => {
      await pool.query('select 1');
    });

    text = await registry.metrics();
    const acquires = 5 + 2 + 2;
    expect(sample(text, 'db_client_connection_wait_time_seconds_count', p)).toBe(acquires);
    expect(sample(text, 'db_client_connection_wait_time_seconds_bucket', { ...p, le: '+Inf' })).toBe(acquires);
    expect(sample(text, 'db_client_connection_use_time_seconds_count', p)).toBe(acquires);
    // the two held past the acquire timeout: over 100 ms each, the rest well under 50 ms
    expect(sample(text, 'db_client_connection_use_time_seconds_sum', p)).toBeGreaterThanOrEqual(0.2);
    expect(sample(text, 'db_client_connection_use_time_seconds_bucket', { ...p, le: '0.05' })).toBe(acquires - 2);
    expect(sample(text, 'db_client_connection_create_time_seconds_count', p)).toBe(2);
    expect(sample(text, 'db_client_connection_timeouts_total', p)).toBe(1);
    expect(sample(text, 'lifeguard_leaks_total', { ...p, kind: 'held-too-long' })).toBe(2);
    expect(sample(text, 'lifeguard_leaks_total', { ...p, kind: 'lost' })).toBe(0);
    expect(sample(text, 'lifeguard_nested_acquires_total', p)).toBe(1);
    expect(sample(text, 'db_client_connection_count', { ...p, db_client_connection_state: 'idle' })).toBe(2);
    expect(sample(text, 'db_client_connection_count', { ...p, db_client_connection_state: 'used' })).toBe(0);
    expect(sample(text, 'db_client_connection_pending_requests', p)).toBe(0);
    expect(sample(text, 'db_client_connection_max', p)).toBe(2);
    expect(sample(text, 'db_client_connection_idle_min', p)).toBe(0);
    expect(sample(text, 'lifeguard_connection_ceiling', p)).toBe(2);
    expect(sample(text, 'lifeguard_healthy', p)).toBe(1);
    expect(sample(text, 'lifeguard_circuit_state', { ...p, state: 'closed' })).toBe(1);
    expect(sample(text, 'lifeguard_circuit_state', { ...p, state: 'open' })).toBe(0);
    expect(sample(text, 'lifeguard_connections_destroyed_total', { ...p, reason: 'idle' })).toBe(0);
    // stats() percentiles come from the same buckets
    expect(pool.stats().waitMs.count).toBe(acquires);
    expect(pool.stats().heldMs.max).toBeGreaterThanOrEqual(50);
    // every series is there, with HELP and TYPE
    for (const name of PROMETHEUS_SERIES) expect(text).toContain(`# TYPE ${name} `);
  });

  it('labels Redis pools db_system_name="redis"; a closed pool disappears; unregister removes every series', async () => {
    const registry = new Registry();
    unregister = registerPrometheus(registry);
    const { pool } = testRedisPool({ max: 3 });
    const p = { db_client_connection_pool_name: pool.name, db_system_name: 'redis', server_address: '127.0.0.1', server_port: '6379' };
    for (let i = 0; i < 3; i++) await pool.withConnection((r) => r.ping());
    let text = await registry.metrics();
    expect(sample(text, 'db_client_connection_wait_time_seconds_count', p)).toBe(3);
    expect(sample(text, 'lifeguard_budget_permits', { ...p, kind: 'shared' })).toBe(1);
    expect(sample(text, 'db_client_connection_max', p)).toBe(3);

    await pool.close();
    text = await registry.metrics();
    expect(sample(text, 'db_client_connection_max', p)).toBeUndefined();

    unregister();
    unregister = undefined;
    expect(await registry.metrics()).not.toContain('db_client_connection');
    expect(registry.getSingleMetric('db_client_connection_max')).toBeUndefined();
  });

  it('registering twice on one registry shares the series until both unregister', async () => {
    const registry = new Registry();
    const a = registerPrometheus(registry);
    const b = registerPrometheus(registry);
    a();
    expect(registry.getSingleMetric('lifeguard_healthy')).toBeDefined();
    b();
    expect(registry.getSingleMetric('lifeguard_healthy')).toBeUndefined();
  });
});

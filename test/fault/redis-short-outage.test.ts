import { afterEach, describe, expect, it } from 'vitest';
import { CircuitOpenError, type EventOf } from '../../src/index.js';
import { REDIS } from '../helpers/env.js';
import { nextEvent, waitFor } from '../helpers/events.js';
import { testRedisPool } from '../helpers/pools.js';
import { FaultProxy } from '../helpers/proxy.js';
import { EphemeralRedis } from '../helpers/redis-server.js';

let server: EphemeralRedis | undefined;
let proxy: FaultProxy | undefined;
afterEach(async () => {
  await server?.stop();
  await proxy?.close();
  server = undefined;
  proxy = undefined;
});

describe('a short Redis outage', () => {
  it('killed for 1.5 s: exactly two health events, and shared-client commands fail in < 10 ms once the breaker is open', async () => {
    server = await EphemeralRedis.start();
    const { pool } = testRedisPool({
      url: server.url,
      max: 3,
      reconnect: { baseMs: 20, maxMs: 100 },
      circuitBreaker: { failureThreshold: 3, resetTimeoutMs: 5000, openAfterMs: 300 },
      healthCheck: { intervalMs: 200, failureThreshold: 2 },
    });
    await pool.client.ping();
    const health: EventOf<'health'>[] = [];
    pool.on('event', (e) => {
      if (e.type === 'health') health.push(e);
    });
    const opened = nextEvent(pool, 'circuit', (e) => e.to === 'open', { timeoutMs: 5000 });
    const killedAt = performance.now();
    await server.kill();
    // queued before the circuit opened: failed with CIRCUIT_OPEN when it opens, not after maxRetriesPerRequest
    const queued = pool.client.get('k').catch((e: unknown) => e);
    await opened;
    expect(await queued).toBeInstanceOf(CircuitOpenError);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const err = await pool.client.get('k').catch((e: unknown) => e);
      times.push(performance.now() - t0);
      expect(err).toBeInstanceOf(CircuitOpenError);
    }
    times.sort((a, b) => a - b);
    console.log(`shared client while open: median ${times[10]!.toFixed(2)} ms, p90 ${times[18]!.toFixed(2)} ms, max ${times[19]!.toFixed(2)} ms`);
    expect(times[18]).toBeLessThan(10);
    // the outage itself: 1.5 s
    await new Promise((r) => setTimeout(r, Math.max(0, 1500 - (performance.now() - killedAt))));
    await server.restart();
    const backAt = performance.now();
    await waitFor(() => health.length >= 2, { timeoutMs: 10_000, message: 'no recovery health event' });
    console.log(`outage ${(backAt - killedAt).toFixed(0)} ms; healthy again ${(performance.now() - backAt).toFixed(0)} ms after the restart`);
    expect(await pool.client.ping()).toBe('PONG');
    await new Promise((r) => setTimeout(r, 1000)); // five more intervals: nothing more follows
    expect(health.map((h) => h.healthy)).toEqual([false, true]);
    expect(pool.stats().circuit).toBe('closed');
  });

  it('a server that accepts and never answers: opening a pooled connection fails within connectTimeoutMs and frees its permit', async () => {
    proxy = await FaultProxy.start(REDIS);
    proxy.setMode('stall');
    const { pool } = testRedisPool({ url: proxy.url('redis'), max: 3, connectTimeoutMs: 300, healthCheck: false, reconnect: { baseMs: 10, maxMs: 50 } });
    const t0 = performance.now();
    const err = await pool.withConnection((r) => r.ping()).catch((e: unknown) => e);
    const ms = performance.now() - t0;
    expect((err as Error).message).toMatch(/no ready connection within 300 ms/);
    expect(ms).toBeLessThan(300 + 1000);
    await waitFor(() => pool.stats().creating === 0 && pool.stats().budget.pooled === 0, { message: 'the permit came back' });
    // a subscriber too
    const subErr = await pool.subscriber().catch((e: unknown) => e);
    expect((subErr as Error).message).toMatch(/no ready subscriber connection within 300 ms|no ready connection/);
    expect(pool.stats().budget.subscriber).toBe(0);
  });
});

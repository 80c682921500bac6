import { describe, expect, it } from 'vitest';
import { ConfigError, fullJitter, pgOptionsFromEnv, redisOptionsFromEnv } from '../../../src/index.js';

describe('options from the environment', () => {
  it('maps REDIS_* with documented defaults (seconds become milliseconds)', () => {
    expect(redisOptionsFromEnv({ REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual({
      url: 'redis://127.0.0.1:6379',
      max: 50,
      healthCheck: { intervalMs: 30_000 },
      connectTimeoutMs: 30_000,
      redisOptions: { commandTimeout: 30_000 },
    });
    expect(
      redisOptionsFromEnv({
        REDIS_URL: 'redis://h:1',
        REDIS_MAX_CONNECTIONS: '7',
        REDIS_SOCKET_TIMEOUT: '2',
        REDIS_HEALTH_CHECK_INTERVAL: '5',
        LIFEGUARD_LEAK_THRESHOLD_MS: '500',
      }),
    ).toMatchObject({ max: 7, connectTimeoutMs: 2000, healthCheck: { intervalMs: 5000 }, leakDetection: { thresholdMs: 500 } });
    expect(redisOptionsFromEnv({})).toBeUndefined();
  });

  it('maps DATABASE_URL and PG_MAX_CONNECTIONS', () => {
    expect(pgOptionsFromEnv({ DATABASE_URL: 'postgres://u@h/db', PG_MAX_CONNECTIONS: '12' })).toEqual({
      connectionString: 'postgres://u@h/db',
      max: 12,
    });
    expect(pgOptionsFromEnv({ PGHOST: 'h' })).toEqual({});
    expect(pgOptionsFromEnv({})).toBeUndefined();
  });

  it.each([
    ['REDIS_MAX_CONNECTIONS', 'lots'],
    ['REDIS_MAX_CONNECTIONS', '0'],
    ['REDIS_SOCKET_TIMEOUT', '1.5'],
    ['REDIS_HEALTH_CHECK_INTERVAL', '-3'],
    ['LIFEGUARD_LEAK_THRESHOLD_MS', 'soon'],
  ])('a bad %s (%s) is a ConfigError naming the variable', (name, value) => {
    let err: unknown;
    try {
      redisOptionsFromEnv({ REDIS_URL: 'redis://h:1', [name]: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).envVar).toBe(name);
    expect((err as ConfigError).message).toContain(name);
    expect((err as ConfigError).message).toContain(JSON.stringify(value));
  });

  it('a bad PG_MAX_CONNECTIONS is a ConfigError naming it', () => {
    expect(() => pgOptionsFromEnv({ DATABASE_URL: 'postgres://h/db', PG_MAX_CONNECTIONS: 'x' })).toThrow(/PG_MAX_CONNECTIONS/);
  });
});

describe('fullJitter', () => {
  it('stays within [0, min(maxMs, baseMs * 2^(attempt-1))]', () => {
    expect(fullJitter(1, 100, 5000, () => 0.999999)).toBe(100);
    expect(fullJitter(3, 100, 5000, () => 0.999999)).toBe(400);
    expect(fullJitter(30, 100, 5000, () => 0.999999)).toBe(5000);
    expect(fullJitter(5, 100, 5000, () => 0)).toBe(0);
    for (let a = 1; a < 40; a++) {
      const d = fullJitter(a, 50, 2000);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(Math.min(2000, 50 * 2 ** (a - 1)));
    }
  });

  it('spreads delays: clients that lost the server together do not retry together', () => {
    const delays = Array.from({ length: 50 }, () => fullJitter(6, 50, 5000));
    expect(new Set(delays).size).toBeGreaterThan(25);
  });
});

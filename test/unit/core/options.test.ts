import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configError } from '../../helpers/config-error.js';
import { COMMON, CIRCUIT_BREAKER, HEALTH_CHECK, LEAK_DETECTION, RECONNECT, SATURATION } from '../../../src/core/option-specs.js';
import { COMMON_KEYS, leakDefaults, resolveCommonOptions } from '../../../src/core/options.js';

const quiet = { error() {}, warn() {}, info() {}, debug() {} };
const env = { npm_package_name: 'opts-test' } as NodeJS.ProcessEnv;
const resolve = (o: Record<string, unknown> = {}, e: NodeJS.ProcessEnv = env) => resolveCommonOptions({ logger: quiet, ...o }, e);

describe('options: declared defaults', () => {
  it('every top-level default', () => {
    const o = resolve();
    expect(o).toMatchObject({
      name: 'default',
      app: 'opts-test',
      min: 0,
      max: 10,
      acquireTimeoutMs: 10_000,
      maxWaiting: 10_000,
      connectTimeoutMs: 5_000,
      idleTimeoutMs: 30_000,
      maxLifetimeMs: 1_800_000,
      maxUses: 0,
      onNestedAcquire: 'warn',
    });
    expect(resolveCommonOptions({}, env).logger).toBe(console);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('every nested default', () => {
    const o = resolve();
    expect(o.leakDetection).toEqual({ thresholdMs: 30_000, captureStacks: 'sampled', sampleRate: 0.02, stackTraceLimit: 10, ignoreFrames: [] });
    expect(o.reconnect).toEqual({ baseMs: 50, maxMs: 5000, maxAttempts: 0 });
    expect(o.circuitBreaker).toEqual({ failureThreshold: 5, resetTimeoutMs: 10_000, openAfterMs: 1000 });
    expect(o.healthCheck).toEqual({ intervalMs: 30_000, failureThreshold: 3 });
    expect(o.saturation).toEqual({ warn: 0.8, critical: 0.9 });
    for (const k of ['leakDetection', 'reconnect', 'circuitBreaker', 'healthCheck', 'saturation'] as const) expect(Object.isFrozen(o[k])).toBe(true);
  });

  it('a nested object given in part keeps the defaults of the fields left out', () => {
    const o = resolve({ reconnect: { maxAttempts: 3 }, healthCheck: { intervalMs: 500 }, leakDetection: { sampleRate: 1 } });
    expect(o.reconnect).toEqual({ baseMs: 50, maxMs: 5000, maxAttempts: 3 });
    expect(o.healthCheck).toEqual({ intervalMs: 500, failureThreshold: 3 });
    expect(o.leakDetection).toMatchObject({ thresholdMs: 30_000, sampleRate: 1, stackTraceLimit: 10 });
  });

  it('reconnect.maxMs defaults to at least baseMs', () => {
    expect(resolve({ reconnect: { baseMs: 8000 } }).reconnect).toEqual({ baseMs: 8000, maxMs: 8000, maxAttempts: 0 });
  });

  it('false turns off every group that can be off, but not reconnect', () => {
    const o = resolve({ leakDetection: false, circuitBreaker: false, healthCheck: false, saturation: false });
    expect([o.leakDetection, o.circuitBreaker, o.healthCheck, o.saturation]).toEqual([false, false, false, false]);
    expect(configError(() => resolve({ reconnect: false })).message).toBe('lifeguard: pool "default": option reconnect must be an object, got false');
  });

  it('captureStacks is "always" under a test runner', () => {
    expect(resolve({}, { ...env, NODE_ENV: 'test' }).leakDetection).toMatchObject({ captureStacks: 'always' });
    expect(leakDefaults({ VITEST: 'true' }).captureStacks).toBe('always');
  });
});

describe('options: accepted keys derive from the declarations', () => {
  it('the key lists are the declared fields, in order', () => {
    expect([...COMMON_KEYS]).toEqual(Object.keys(COMMON));
    expect([...LEAK_DETECTION.keys]).toEqual(['thresholdMs', 'captureStacks', 'sampleRate', 'stackTraceLimit', 'ignoreFrames']);
    expect([...RECONNECT.keys]).toEqual(['baseMs', 'maxMs', 'maxAttempts']);
    expect([...CIRCUIT_BREAKER.keys]).toEqual(['failureThreshold', 'resetTimeoutMs', 'openAfterMs']);
    expect([...HEALTH_CHECK.keys]).toEqual(['intervalMs', 'failureThreshold']);
    expect([...SATURATION.keys]).toEqual(['warn', 'critical']);
  });

  it.each([
    ['leakDetection', 'thresholdMS', 'thresholdMs, captureStacks, sampleRate, stackTraceLimit, ignoreFrames'],
    ['reconnect', 'retries', 'baseMs, maxMs, maxAttempts'],
    ['circuitBreaker', 'threshold', 'failureThreshold, resetTimeoutMs, openAfterMs'],
    ['healthCheck', 'everyMs', 'intervalMs, failureThreshold'],
    ['saturation', 'high', 'warn, critical'],
  ])('an unknown key of %s is rejected, named, with the allowed ones', (group, key, allowed) => {
    const e = configError(() => resolve({ name: 'p', [group]: { [key]: 1 } }));
    expect(e.message).toBe(`lifeguard: pool "p": unknown option ${group}.${key} (allowed: ${allowed})`);
    expect(e.option).toBe(`${group}.${key}`);
    expect(e.pool).toBe('p');
  });

  it('a key given as undefined is not unknown', () => {
    expect(() => resolve({ reconnect: { retries: undefined } })).not.toThrow();
  });
});

describe('options: bounds', () => {
  it.each([
    [{ max: 0 }, 'max', 'an integer from 1 to 10000, got 0'],
    [{ max: 3, min: 4 }, 'min', '<= max (3), got 4'],
    [{ healthCheck: { intervalMs: 5 } }, 'healthCheck.intervalMs', 'an integer from 10 to 2147483647, got 5'],
    [{ circuitBreaker: { resetTimeoutMs: 2 ** 31 } }, 'circuitBreaker.resetTimeoutMs', 'an integer from 1 to 268435455, got 2147483648'],
    [{ reconnect: { baseMs: 100, maxMs: 50 } }, 'reconnect.maxMs', 'an integer >= reconnect.baseMs (100), got 50'],
    [{ saturation: { warn: 0.95 } }, 'saturation.critical', '>= saturation.warn (0.95), got 0.9'],
    [{ leakDetection: { sampleRate: 2 } }, 'leakDetection.sampleRate', 'a number from 0 to 1, got 2'],
    [{ leakDetection: { captureStacks: true } }, 'leakDetection.captureStacks', 'one of "always", "sampled", false, got true'],
    [{ leakDetection: { ignoreFrames: [''] } }, 'leakDetection.ignoreFrames', 'an array of non-empty strings and RegExps, got an array'],
    [{ onNestedAcquire: 'panic' }, 'onNestedAcquire', 'one of "warn", "throw", "ignore", got "panic"'],
    [{ logger: {} }, 'logger', 'an object with error, warn, info and debug methods, got an object'],
  ])('%o is rejected naming %s', (opts, option, expected) => {
    const e = configError(() => resolve({ name: 'b', ...opts }));
    expect(e.option).toBe(option);
    expect(e.message).toBe(`lifeguard: pool "b": option ${option} must be ${expected}`);
  });

  it('a bad name is reported before anything else, under pool "?"', () => {
    expect(configError(() => resolve({ name: '', max: 0 })).message).toBe('lifeguard: pool "?": option name must be a non-empty string, got ""');
  });
});

describe('options: environment', () => {
  it('LIFEGUARD_LEAK_THRESHOLD_MS overrides the default threshold, and an option overrides it', () => {
    const e = { ...env, LIFEGUARD_LEAK_THRESHOLD_MS: '1234' };
    expect(resolve({}, e).leakDetection).toMatchObject({ thresholdMs: 1234 });
    expect(resolve({ leakDetection: { thresholdMs: 99 } }, e).leakDetection).toMatchObject({ thresholdMs: 99 });
    expect(leakDefaults(e).thresholdMs).toBe(1234);
    expect(resolve({}, { ...env, LIFEGUARD_LEAK_THRESHOLD_MS: '' }).leakDetection).toMatchObject({ thresholdMs: 30_000 });
  });

  it('a bad LIFEGUARD_LEAK_THRESHOLD_MS is a ConfigError naming the variable, even when thresholdMs is given', () => {
    const e = { ...env, LIFEGUARD_LEAK_THRESHOLD_MS: 'soon' };
    for (const opts of [{}, { leakDetection: { thresholdMs: 5 } }]) {
      const err = configError(() => resolve(opts, e));
      expect(err.envVar).toBe('LIFEGUARD_LEAK_THRESHOLD_MS');
      expect(err.message).toBe('lifeguard: environment variable LIFEGUARD_LEAK_THRESHOLD_MS must be an integer from 1 to 2147483647 (milliseconds), got "soon"');
    }
    // off: the variable is not read
    expect(resolve({ leakDetection: false }, e).leakDetection).toBe(false);
  });
});

describe('options: the docs agree with the declarations', () => {
  // each `@default` of a numeric option in the public types is the declared default
  const documented = (iface: string, file = 'options.ts'): Map<string, string> => {
    const source = readFileSync(new URL(`../../../src/core/${file}`, import.meta.url), 'utf8');
    const body = source.slice(source.indexOf(`export interface ${iface} `));
    const block = body.slice(0, body.indexOf('\n}\n'));
    const out = new Map<string, string>();
    for (const m of block.matchAll(/@default ([^\n]*?)\s*(?:\*\/)?\n(?:[^\n]*\n)*?\s*(\w+)\?:/g)) out.set(m[2]!, m[1]!.trim());
    return out;
  };
  const numeric = (doc: string | undefined): number | undefined => {
    const m = /^([0-9][0-9_]*(?:\.[0-9]+)?)\b/.exec(doc ?? '');
    return m ? Number(m[1]!.replace(/_/g, '')) : undefined;
  };
  it.each([
    ['CommonPoolOptions', COMMON as Record<string, { default: unknown }>],
    ['HealthCheckOptions', HEALTH_CHECK.fields as Record<string, { default: unknown }>],
    ['SaturationOptions', SATURATION.fields as Record<string, { default: unknown }>],
    ['LeakDetectionOptions', LEAK_DETECTION.fields as Record<string, { default: unknown }>],
    ['CircuitBreakerOptions', CIRCUIT_BREAKER.fields as Record<string, { default: unknown }>, 'breaker.ts'],
    ['ReconnectOptions', RECONNECT.fields as Record<string, { default: unknown }>, 'backoff.ts'],
  ])('%s', (iface, fields, file?: string) => {
    const docs = documented(iface, file);
    let checked = 0;
    for (const [key, field] of Object.entries(fields)) {
      const n = numeric(docs.get(key));
      if (n === undefined || typeof field.default !== 'number') continue;
      expect(n, `${iface}.${key}`).toBe(field.default);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
  });
});

describe('options: a Redis pool\'s own options', () => {
  it('accepts the common keys and its own, defaulted; anything else is named with the hint', async () => {
    const { resolveRedisOptions } = await import('../../../src/redis/options.js');
    const r = resolveRedisOptions({ logger: quiet }, env);
    expect(r.url).toBe('redis://127.0.0.1:6379');
    expect(r.redisOptions).toEqual({});
    expect(r.publishBudget).toBe(true);
    expect(r.cluster).toBeUndefined();
    expect(r.sentinel).toBeUndefined();
    expect(r.duplicateOptions).toEqual({ maxRetriesPerRequest: null });
    const e = configError(() => resolveRedisOptions({ name: 'r', host: 'x' } as never, env));
    expect(e.message).toBe('lifeguard: pool "r": unknown option host (not a lifeguard option; ioredis options go in redisOptions)');
    expect(() => resolveRedisOptions({ logger: quiet, publishBudget: false, duplicateOptions: {}, redisOptions: { db: 1 } }, env)).not.toThrow();
  });
});

describe('options: the resolved object', () => {
  it('has fast properties (the acquire/release path reads it; dictionary mode cost about 10% of a cycle)', () => {
    const script = fileURLToPath(new URL('../../fixtures/support/fast-options.ts', import.meta.url));
    const out = execFileSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', script], { encoding: 'utf8' });
    expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({ common: true, leakDetection: true, pg: true, redis: true });
  });
});

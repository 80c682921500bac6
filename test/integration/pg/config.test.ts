import { describe, expect, it } from 'vitest';
import { ConfigError, createPgPool, getPoolManager } from '../../../src/index.js';
import { closeAfterTest, recordingLogger } from '../../helpers/pools.js';
import { unique } from '../../helpers/unique.js';
import { DATABASE_URL, REDIS_URL } from '../../helpers/env.js';

const bad: [string, Record<string, unknown>, RegExp][] = [
  ['negative max', { max: -1 }, /option max must be an integer from 1 to 10000, got -1/],
  ['non-integer max', { max: 2.5 }, /option max must be an integer from 1 to 10000, got 2\.5/],
  ['min above max', { min: 5, max: 2 }, /option min must be <= max \(2\), got 5/],
  ['non-finite timeout', { acquireTimeoutMs: Infinity }, /option acquireTimeoutMs must be an integer from 1 to 2147483647, got Infinity/],
  ['NaN timeout', { connectTimeoutMs: Number.NaN }, /option connectTimeoutMs must be an integer from 1 to 2147483647, got NaN/],
  ['unknown option', { maxConnections: 5 }, /unknown option maxConnections/],
  ['unknown nested option', { leakDetection: { treshold: 5 } }, /unknown option leakDetection\.treshold/],
  ['bad capture mode', { leakDetection: { captureStacks: 'often' } }, /leakDetection\.captureStacks must be one of/],
  ['both pg and lifeguard names', { idleTimeoutMillis: 5, idleTimeoutMs: 5 }, /option idleTimeoutMillis must be left out/],
];

describe('options are checked at construction', () => {
  it.each(bad)('%s is a ConfigError naming the option and the value', (_label, options, message) => {
    let err: unknown;
    try {
      createPgPool({ name: 'cfg', ...(options as object) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('CONFIG_INVALID');
    expect((err as ConfigError).message).toMatch(message);
    expect((err as ConfigError).message).toContain('"cfg"');
  });

  it('accepts pg.Pool option names', () => {
    const pool = closeAfterTest(createPgPool({ idleTimeoutMillis: 1234, connectionTimeoutMillis: 2000, maxLifetimeSeconds: 60, logger: recordingLogger() }));
    expect(pool.stats().max).toBe(10);
  });

  it('LIFEGUARD_LEAK_THRESHOLD_MS with a bad value is a ConfigError naming the variable', () => {
    process.env.LIFEGUARD_LEAK_THRESHOLD_MS = 'soon';
    try {
      expect(() => createPgPool({})).toThrow(/LIFEGUARD_LEAK_THRESHOLD_MS/);
    } finally {
      delete process.env.LIFEGUARD_LEAK_THRESHOLD_MS;
    }
  });
});

describe('passwords never appear', () => {
  const password = 'hunter2-s3cret';

  it('not in a connect error', async () => {
    const pool = closeAfterTest(
      createPgPool({ connectionString: `postgres://nobody:${password}@127.0.0.1:1/test`, max: 1, logger: recordingLogger() }),
    );
    const err = await pool.query('select 1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(`${(err as Error).message}\n${(err as Error).stack}`).not.toContain(password);
  });

  it('not in an acquire timeout, a config error, the pool description or a log line', async () => {
    const logger = recordingLogger();
    const pool = closeAfterTest(
      createPgPool({ connectionString: `postgres://nobody:${password}@127.0.0.1:1/test`, max: 1, logger, acquireTimeoutMs: 100 }),
    );
    await pool.query('select 1').catch(() => undefined);
    expect(pool.target).toBe('postgres://nobody:***@127.0.0.1:1/test');
    const cfg = (() => {
      try {
        createPgPool({ connectionString: `postgres://u:${password}@[bad`, logger });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(cfg).toBeInstanceOf(ConfigError);
    expect(cfg!.message).not.toContain(password);
    expect(JSON.stringify(logger.lines)).not.toContain(password);
    expect(JSON.stringify(pool.options ?? {})).not.toContain(password);
  });

  it('not in an error event', async () => {
    const pool = closeAfterTest(
      createPgPool({ host: '127.0.0.1', port: 1, user: 'x', password, max: 1, logger: recordingLogger() }),
    );
    const seen: string[] = [];
    pool.on('event', (e) => seen.push(JSON.stringify(e, (_k, v: unknown) => (v instanceof Error ? `${v.message} ${v.stack}` : v))));
    await pool.query('select 1').catch(() => undefined);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.join('\n')).not.toContain(password);
  });
});

describe('getPoolManager()', () => {
  it('is one manager per process, get-or-create by name; other options under the same name are a ConfigError', async () => {
    const lg = getPoolManager();
    expect(getPoolManager()).toBe(lg);
    const name = unique('m');
    const opts = { connectionString: DATABASE_URL, max: 3, logger: recordingLogger() };
    const a = lg.pg(name, opts);
    closeAfterTest(a);
    expect(lg.pg(name, { ...opts })).toBe(a);
    expect(() => lg.pg(name, { ...opts, max: 4 })).toThrow(ConfigError);
    expect(() => lg.pg(name, { ...opts, max: 4 })).toThrow(/already exists with different options/);
  });

  it('survives a duplicated copy of the module (globalThis + Symbol.for)', async () => {
    const copy = (await import('../../../src/manager.js?copy=1' as string)) as typeof import('../../../src/manager.js');
    expect(copy.getPoolManager()).toBe(getPoolManager());
  });

  it('close() closes every pool it made and returns what it forced', async () => {
    const lg = getPoolManager();
    const name = unique('m');
    const pool = lg.pg(name, { connectionString: DATABASE_URL, max: 2, logger: recordingLogger() });
    const lease = await pool.acquire();
    const result = await lg.close({ timeoutMs: 50 });
    expect(result.forced.map((f) => f.id)).toContain(lease.id);
    expect(pool.ending).toBe(true);
  });
});

describe('lg.fromEnv()', () => {
  it('creates working "default" pools from REDIS_URL and DATABASE_URL', async () => {
    const lg = getPoolManager();
    const { redis, pg } = lg.fromEnv({
      REDIS_URL,
      DATABASE_URL,
      REDIS_MAX_CONNECTIONS: '3',
      PG_MAX_CONNECTIONS: '2',
    });
    expect(redis!.stats().max).toBe(3);
    expect(pg!.stats().max).toBe(2);
    expect(await redis!.client.ping()).toBe('PONG');
    expect((await pg!.query('select 1 as one')).rows[0].one).toBe(1);
    await lg.close({ timeoutMs: 1000 });
  });
});

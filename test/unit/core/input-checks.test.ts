/**
 * Issue 12: input that used to pass through unchecked (driver options, environment
 * values, URLs) is a ConfigError at construction naming the option or variable.
 * No connection is opened by any of these.
 */
import { describe, expect, it } from 'vitest';
import { configError } from '../../helpers/config-error.js';
import { pgOptionsFromEnv, redisOptionsFromEnv } from '../../../src/index.js';
import { resolvePgOptions } from '../../../src/pg/options.js';
import { resolveRedisOptions } from '../../../src/redis/options.js';
import { redactUrl, scrubError } from '../../../src/core/redact.js';

describe('pg driver options are checked up front', () => {
  it.each([
    ['ssl', { ssl: 'yes' }],
    ['user', { user: 123 }],
    ['port', { port: Number.NaN }],
    ['port', { port: 70_000 }],
    ['host', { host: ['a'] }],
    ['statement_timeout', { statement_timeout: 2 ** 31 }],
    ['keepAlive', { keepAlive: 'on' }],
    ['connectionString', { connectionString: 'not a url at all' }],
    ['connectionString', { connectionString: 'mysql://u@h/db' }],
    ['connectionString', { connectionString: 'postgres:///db' }],
    ['idleTimeoutMillis', { idleTimeoutMillis: 2 ** 31 }],
  ])('%s: %o is a ConfigError naming it', (option, opts) => {
    expect(configError(() => resolvePgOptions({ name: 'pgin', ...(opts as object) })).option).toBe(option);
  });

  it('accepts a numeric string port and a socket path, as pg does', () => {
    expect(() => resolvePgOptions({ port: '5432' as unknown as number })).not.toThrow();
    expect(() => resolvePgOptions({ connectionString: '/var/run/postgresql' })).not.toThrow();
    expect(() => resolvePgOptions({ connectionString: 'postgres://u@/db?host=/var/run/postgresql' })).not.toThrow();
  });

  it('a password of the wrong type is named, its value never shown', () => {
    const err = configError(() => resolvePgOptions({ password: { secret: 'hunter2-value' } as unknown as string }));
    expect(err.option).toBe('password');
    expect(err.message).not.toContain('hunter2');
  });
});

describe('redis driver options are checked up front', () => {
  it.each([
    ['redisOptions.db', { redisOptions: { db: 'x' } }],
    ['redisOptions.db', { redisOptions: { db: -1 } }],
    ['redisOptions.port', { redisOptions: { port: Number.NaN } }],
    ['redisOptions.commandTimeout', { redisOptions: { commandTimeout: 2_147_484_000 } }],
    ['url', { url: 'redis://' }],
    ['url', { url: 'redis://127.0.0.1:6379/x' }],
    ['url', { url: 'redis://127.0.0.1:6379/1e3' }],
    ['min', { min: 3, max: 3 }],
  ])('%s: %o is a ConfigError naming it', (option, opts) => {
    expect(configError(() => resolveRedisOptions({ name: 'rin', ...(opts as object) })).option).toBe(option);
  });
});

describe('environment values are parsed strictly', () => {
  it.each([
    ['REDIS_MAX_CONNECTIONS', '0x10'],
    ['REDIS_MAX_CONNECTIONS', '1e3'],
    ['REDIS_MAX_CONNECTIONS', ' 7 '],
    ['REDIS_MAX_CONNECTIONS', '1'],
    ['REDIS_MAX_CONNECTIONS', '9999999'],
    ['REDIS_SOCKET_TIMEOUT', '2147484'],
    ['REDIS_HEALTH_CHECK_INTERVAL', '+5'],
    ['LIFEGUARD_LEAK_THRESHOLD_MS', '2147483648'],
  ])('%s=%j is a ConfigError naming the variable', (name, value) => {
    const err = configError(() => redisOptionsFromEnv({ REDIS_URL: 'redis://h:1', [name]: value }));
    expect(err.envVar).toBe(name);
    expect(err.message).toContain(name);
  });

  it('REDIS_URL=redis:// (no host) is a ConfigError naming REDIS_URL, not a connection to 127.0.0.1:6379', () => {
    expect(configError(() => redisOptionsFromEnv({ REDIS_URL: 'redis://' })).envVar).toBe('REDIS_URL');
    expect(configError(() => redisOptionsFromEnv({ REDIS_URL: 'http://h:1' })).envVar).toBe('REDIS_URL');
  });

  it('a garbage DATABASE_URL fails in fromEnv, naming the variable, not at the first connect', () => {
    expect(configError(() => pgOptionsFromEnv({ DATABASE_URL: 'localhost:5432/db' })).envVar).toBe('DATABASE_URL');
    const err = configError(() => pgOptionsFromEnv({ DATABASE_URL: 'postgres://u:pa/ss@h/db' }));
    expect(err.envVar).toBe('DATABASE_URL');
    expect(err.message).not.toContain('pa/ss');
    expect(configError(() => pgOptionsFromEnv({ DATABASE_URL: 'postgres://h/db', PGPORT: '0x1' })).envVar).toBe('PGPORT');
  });
});

describe('redaction', () => {
  it.each([
    ['postgres://u:pa/ss@h/db', 'pa/ss'],
    ['postgres://u:p@ss@h:5432/db', 'p@ss'],
    ['redis://:s3cr#t?x@h:6379/0', 's3cr#t?x'],
    ['redis://default:p%40ss%2Fw@h:6379', 'p%40ss%2Fw'],
    ['postgres://u@h/db?password=topsecret&x=1', 'topsecret'],
    ['redis://onlysecret:@h', 'nothing-to-find'],
  ])('redactUrl(%s) hides the password', (url, secret) => {
    const out = redactUrl(url);
    expect(out).not.toContain(secret);
    expect(out).toMatch(/\*\*\*|onlysecret:@/);
  });

  it('scrubs own properties of errors, nested (ioredis err.command.args), without touching accessors', () => {
    const err = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      command: { name: 'auth', args: ['default', 'pw-/@:%#-ü'] },
      previousErrors: [Object.assign(new Error('x'), { args: ['pw-/@:%#-ü'] })],
    });
    scrubError(err, ['pw-/@:%#-ü']);
    expect(JSON.stringify(err)).not.toContain('pw-/@');
    expect(err.command.args).toEqual(['default', '***']);
    expect((err.previousErrors[0] as unknown as { args: string[] }).args).toEqual(['***']);
  });
});

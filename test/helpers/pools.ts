/**
 * Pools for tests: unique names (so server-side counts are per test), a silent or
 * recording logger, and every pool closed after its test.
 */
import { afterEach } from 'vitest';
import {
  createPgPool,
  createRedisPool,
  type LifeguardPgPool,
  type LifeguardRedisPool,
  type Logger,
  type PgPoolOptions,
  type RedisPoolOptions,
} from '../../src/index.js';
import { assertNoLeaks } from '../../src/testing/index.js';
import { DATABASE_URL, REDIS_URL } from './env.js';
import { unique } from './unique.js';

/** issue 17: test/fault/pgbouncer.test.ts reruns pg suites through PgBouncer with pools in its mode. */
const BOUNCER: PgPoolOptions = process.env.LIFEGUARD_TEST_PGBOUNCER === 'transaction' ? { pgbouncer: 'transaction' } : {};

const open = new Set<{ close(opts?: { timeoutMs?: number }): Promise<unknown> }>();

// Dogfood: every test must leave no lease, subscriber or listener open (lifeguard/testing),
// checked before its pools are closed (which would force and hide them).
afterEach(async () => {
  let leak: unknown;
  try {
    assertNoLeaks();
  } catch (err) {
    leak = err;
  }
  const pools = [...open];
  open.clear();
  await Promise.all(pools.map((p) => p.close({ timeoutMs: 0 })));
  if (leak !== undefined) throw leak;
});

/** Registers anything with `close()` to be closed after the current test. */
export function closeAfterTest<T extends { close(opts?: { timeoutMs?: number }): Promise<unknown> }>(pool: T): T {
  open.add(pool);
  return pool;
}

/** A logger that keeps what it was given. */
export function recordingLogger(): Logger & { lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  const rec = (level: string) => (message: string) => {
    lines.push({ level, message });
  };
  return { lines, error: rec('error'), warn: rec('warn'), info: rec('info'), debug: rec('debug') };
}

/** A pg pool on the test database with a unique app name; `prefix` is its server-side name prefix. */
export function testPgPool(options: PgPoolOptions = {}): { pool: LifeguardPgPool; prefix: string; app: string } {
  const app = options.app ?? unique('lg');
  const pool = closeAfterTest(
    createPgPool({ connectionString: DATABASE_URL, name: unique('p'), logger: recordingLogger(), ...BOUNCER, ...options, app }),
  );
  return { pool, app, prefix: `${app}:` };
}

/** A Redis pool on the test server with a unique app name; `prefix` is its CLIENT SETNAME prefix. */
export function testRedisPool(options: RedisPoolOptions = {}): { pool: LifeguardRedisPool; prefix: string; app: string } {
  const app = options.app ?? unique('lg');
  const pool = closeAfterTest(createRedisPool({ url: REDIS_URL, name: unique('r'), logger: recordingLogger(), ...options, app }));
  return { pool, app, prefix: `lifeguard:${app}:` };
}

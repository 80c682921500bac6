/**
 * vitest globalSetup: makes sure the suite has a PostgreSQL and a Redis.
 *
 * - `DATABASE_URL` / `REDIS_URL` set: used as they are.
 * - Otherwise, if something answers on the default address (127.0.0.1:5432 /
 *   127.0.0.1:6379), the tests use it.
 * - Otherwise the setup starts one (an embedded PostgreSQL; `redis-server` from PATH)
 *   on a free port and points the tests at it; if it cannot, the run fails at once
 *   with one line per server saying what to install.
 *
 * `LIFEGUARD_TEST_PG_ADDR` / `LIFEGUARD_TEST_REDIS_ADDR` (`host:port`) move the default
 * address, so "nothing on the default ports" can be tried without stopping the
 * servers that run there.
 */
import { ensureServers } from '../../scripts/servers.js';

function address(value: string | undefined, fallback: string): { host: string; port: number } {
  const [host, port] = (value || fallback).split(/:(?=\d+$)/);
  return { host: host!, port: Number(port) };
}

export default async function setup(): Promise<() => Promise<void>> {
  const pg = address(process.env.LIFEGUARD_TEST_PG_ADDR, '127.0.0.1:5432');
  const redis = address(process.env.LIFEGUARD_TEST_REDIS_ADDR, '127.0.0.1:6379');
  const servers = await ensureServers({ probe: { pg, redis }, say: (line) => process.stderr.write(`[test servers] ${line}\n`) });
  if (servers.missing.length > 0) {
    await servers.stop();
    const err = new Error(`the tests need PostgreSQL and Redis, and nothing answers on the default ports: ${servers.missing.join('; ')}`);
    err.stack = err.message; // one line, not a stack
    throw err;
  }
  // the test processes are forked after this and inherit it
  process.env.DATABASE_URL = servers.databaseUrl;
  process.env.REDIS_URL = servers.redisUrl;
  return () => servers.stop();
}

/**
 * Who a connection belongs to: lifeguard's server-side names (`app:pool:pid`) taken
 * apart, and the one key each connection is grouped and reported under.
 */
import type { PgActivityRow, RedisClientRow } from './rows.js';

/** A lifeguard server-side name taken apart. */
export interface LifeguardName {
  readonly app: string;
  readonly pool: string;
  readonly pid: number;
}

const REDIS_PREFIX = 'lifeguard:';

/** `lifeguard:<app>:<pool>:<pid>` (Redis `CLIENT SETNAME`) → its parts; undefined for any other name. */
export function parseRedisName(name: string): LifeguardName | undefined {
  if (!name.startsWith(REDIS_PREFIX)) return undefined;
  return parseAppPoolPid(name.slice(REDIS_PREFIX.length));
}

/** `<app>:<pool>:<pid>` (PostgreSQL `application_name`) → its parts; undefined for any other name. */
export function parsePgName(name: string): LifeguardName | undefined {
  return parseAppPoolPid(name);
}

function parseAppPoolPid(s: string): LifeguardName | undefined {
  const last = s.lastIndexOf(':');
  if (last <= 0) return undefined;
  const pidText = s.slice(last + 1);
  if (!/^\d+$/.test(pidText)) return undefined;
  const rest = s.slice(0, last);
  const mid = rest.lastIndexOf(':');
  if (mid <= 0 || mid === rest.length - 1) return undefined;
  return { app: rest.slice(0, mid), pool: rest.slice(mid + 1), pid: Number(pidText) };
}

/** `127.0.0.1:51234` → `127.0.0.1`, `[::1]:51234` → `::1`. */
export function host(addr: string): string {
  return addr.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
}

/** Where a PostgreSQL backend connects from: its client address, `local` for a Unix socket. */
export function pgAddress(row: PgActivityRow): string {
  return row.clientAddr || 'local';
}

/** `app:pool:pid`: the key of a process's pool (budgets are published under it). */
export function budgetKey(b: { app: string; pool: string; pid: number }): string {
  return `${b.app}:${b.pool}:${b.pid}`;
}

/** What a connection is reported under: `app:pool:pid`, else its raw name, else `unnamed@<address>`. */
export function subjectOf(name: LifeguardName | undefined, raw: string, addr: string): string {
  if (name !== undefined) return budgetKey(name);
  return raw !== '' ? raw : `unnamed@${addr}`;
}

/** {@link subjectOf} a Redis client. */
export function redisSubject(row: RedisClientRow): string {
  return subjectOf(parseRedisName(row.name), row.name, host(row.addr));
}

/** {@link subjectOf} a PostgreSQL backend. */
export function pgSubject(row: PgActivityRow): string {
  return subjectOf(parsePgName(row.applicationName), row.applicationName, pgAddress(row));
}

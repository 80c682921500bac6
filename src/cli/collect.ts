/** Reads the servers (and app endpoints) into rows: the only I/O doctor and monitor do. */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { AdminSnapshot } from '../admin.js';
import { redactUrl, scrubError } from '../core/redact.js';
import { BUDGET_KEY } from '../redis/budget.js';
import { parsePgName } from './names.js';
import { parseClientList, parseInfo } from './parse.js';
import type { PgActivityRow, PgLimit, PgSnapshot, PublishedBudget, RedisSnapshot } from './rows.js';

/** The CLI's own connection name (not a lifeguard pool name, so never grouped or cleaned up). */
export const CLI_CONNECTION_NAME = 'lifeguard-cli';
const CONNECT_TIMEOUT_MS = 5_000;

/** A server could not be reached or read: exit code 3. */
export class CollectError extends Error {
  constructor(
    readonly server: 'redis' | 'pg' | 'endpoint',
    readonly target: string,
    message: string,
  ) {
    super(message);
  }
}

function secretsOf(url: string): string[] {
  try {
    const p = new URL(url).password;
    return p ? [p, decodeURIComponent(p)] : [];
  } catch {
    return [];
  }
}

function fail(server: 'redis' | 'pg' | 'endpoint', url: string, err: unknown): CollectError {
  const e = scrubError(err, secretsOf(url));
  const msg = e instanceof Error ? e.message : String(e);
  return new CollectError(server, redactUrl(url), `${server} ${redactUrl(url)}: ${msg}`);
}

/** An open Redis connection for the CLI. */
export async function openRedis(url: string): Promise<Redis> {
  // loaded on use: ioredis and pg are optional peer dependencies
  const { Redis } = await import('ioredis');
  const r = new Redis(url, {
    lazyConnect: true,
    connectionName: CLI_CONNECTION_NAME,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: 10_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  let last: unknown;
  r.on('error', (err) => {
    last = err;
  });
  try {
    await r.connect();
  } catch (err) {
    r.disconnect();
    throw fail('redis', url, last ?? err);
  }
  return r;
}

/** An open PostgreSQL connection for the CLI. */
export async function openPg(url: string): Promise<pg.Client> {
  const { default: pgm } = await import('pg');
  const c = new pgm.Client({ connectionString: url, application_name: CLI_CONNECTION_NAME, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, statement_timeout: 10_000 });
  c.on('error', () => undefined);
  try {
    await c.connect();
  } catch (err) {
    void c.end().catch(() => undefined);
    throw fail('pg', url, err);
  }
  return c;
}

/** Budgets published in `lifeguard:budgets` of every database that has keys. */
async function readBudgets(r: Redis, keyspace: Map<string, string>): Promise<PublishedBudget[]> {
  const dbs = [...keyspace.keys()].filter((k) => /^db\d+$/.test(k)).map((k) => Number(k.slice(2)));
  const out: PublishedBudget[] = [];
  for (const db of dbs) {
    try {
      await r.select(db);
      const all = await r.hgetall(BUDGET_KEY);
      for (const [field, value] of Object.entries(all)) {
        const name = parsePgName(field);
        const max = Number(value.split(' ')[0]);
        if (name !== undefined && Number.isInteger(max) && max > 0) out.push({ ...name, max });
      }
    } catch {
      // a database we may not read, or a key of another type: no budgets from it
    }
  }
  return out;
}

/** One read-only pass over a Redis server. */
export async function collectRedis(r: Redis, url: string, extraBudgets: readonly PublishedBudget[] = []): Promise<RedisSnapshot> {
  try {
    const [infoText, list, selfId] = await Promise.all([r.info(), r.client('LIST') as Promise<string>, r.client('ID') as Promise<number>]);
    const info = parseInfo(infoText);
    const num = (k: string): number => Number(info.get(k) ?? 0) || 0;
    const keyspace = new Map([...info.entries()].filter(([k]) => /^db\d+$/.test(k)));
    const budgets = [...(await readBudgets(r, keyspace)), ...extraBudgets];
    return {
      kind: 'redis',
      target: redactUrl(url),
      time: Date.now(),
      info: {
        maxclients: num('maxclients'),
        connectedClients: num('connected_clients'),
        blockedClients: num('blocked_clients'),
        rejectedConnections: num('rejected_connections'),
        version: info.get('redis_version') ?? '',
      },
      clients: parseClientList(list),
      selfId: String(selfId),
      budgets,
    };
  } catch (err) {
    throw fail('redis', url, err);
  }
}

const ACTIVITY_SQL = `
select a.pid,
       coalesce(a.usename, '') as "user",
       coalesce(a.datname, '') as database,
       coalesce(a.application_name, '') as application_name,
       coalesce(host(a.client_addr), '') as client_addr,
       coalesce(a.backend_type, '') as backend_type,
       coalesce(a.state, '') as state,
       coalesce(extract(epoch from now() - a.state_change), 0)::float8 as state_age,
       coalesce(extract(epoch from now() - a.query_start), 0)::float8 as query_age,
       extract(epoch from now() - a.xact_start)::float8 as xact_age,
       coalesce(extract(epoch from now() - a.backend_start), 0)::float8 as backend_age,
       coalesce(a.wait_event_type, '') as wait_event_type,
       left(coalesce(a.query, ''), 200) as query,
       (coalesce(r.rolsuper or r.rolreplication, false) or a.backend_type = 'walsender') as superuser
  from pg_stat_activity a left join pg_roles r on r.oid = a.usesysid`;

interface ActivityRecord {
  pid: number;
  user: string;
  database: string;
  application_name: string;
  client_addr: string;
  backend_type: string;
  state: string;
  state_age: number;
  query_age: number;
  xact_age: number | null;
  backend_age: number;
  wait_event_type: string;
  query: string;
  superuser: boolean;
}

/** The activity rows of a server, as the findings take them. */
export async function readActivity(c: pg.Client): Promise<PgActivityRow[]> {
  const { rows } = await c.query<ActivityRecord>(ACTIVITY_SQL);
  return rows.map((r) => ({
    pid: r.pid,
    user: r.user,
    database: r.database,
    applicationName: r.application_name,
    clientAddr: r.client_addr,
    backendType: r.backend_type,
    state: r.state,
    stateAgeS: r.state_age,
    queryAgeS: r.query_age,
    xactAgeS: r.xact_age ?? undefined,
    backendAgeS: r.backend_age,
    waitEventType: r.wait_event_type,
    query: r.query,
    superuser: r.superuser,
  }));
}

/** One read-only pass over a PostgreSQL server. */
export async function collectPg(c: pg.Client, url: string, budgets: readonly PublishedBudget[] = []): Promise<PgSnapshot> {
  try {
    const settings = await c.query<{ max: number; su: number; reserved: number; self: number }>(
      `select current_setting('max_connections')::int as max,
              current_setting('superuser_reserved_connections')::int as su,
              coalesce(nullif(current_setting('reserved_connections', true), ''), '0')::int as reserved,
              pg_backend_pid() as self`,
    );
    const roles = await c.query<{ name: string; limit: number }>(`select rolname as name, rolconnlimit as "limit" from pg_roles where rolconnlimit >= 0 and rolcanlogin`);
    const dbs = await c.query<{ name: string; limit: number }>(`select datname as name, datconnlimit as "limit" from pg_database where datconnlimit >= 0 and datallowconn`);
    const activity = await readActivity(c);
    const s = settings.rows[0]!;
    const limits = (rows: { name: string; limit: number }[]): PgLimit[] => rows.map((r) => ({ name: r.name, limit: r.limit }));
    return {
      kind: 'pg',
      target: redactUrl(url),
      time: Date.now(),
      maxConnections: s.max,
      reservedConnections: s.su + s.reserved,
      roleLimits: limits(roles.rows),
      databaseLimits: limits(dbs.rows),
      activity,
      selfPid: s.self,
      budgets,
    };
  } catch (err) {
    throw fail('pg', url, err);
  }
}

/** Reads a `lifeguard/http` endpoint. */
export async function fetchEndpoint(url: string, timeoutMs = 5_000): Promise<AdminSnapshot> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as AdminSnapshot;
    if (body === null || typeof body !== 'object' || !Array.isArray(body.pools)) throw new Error('not a lifeguard/http answer (no pools)');
    return body;
  } catch (err) {
    throw fail('endpoint', url, err);
  }
}

/** The budgets an endpoint's pools declare, for the fleet view of one driver. */
export function endpointBudgets(snapshots: readonly AdminSnapshot[], driver: 'pg' | 'redis'): PublishedBudget[] {
  return snapshots.flatMap((s) => s.pools.filter((p) => p.driver === driver && p.app !== null).map((p) => ({ app: p.app!, pool: p.name, pid: s.pid, max: p.max })));
}

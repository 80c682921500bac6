/**
 * What the CLI reads from the servers, as plain rows: one `CLIENT LIST` line or one
 * `pg_stat_activity` row each. `findings.ts` turns these into groups and findings
 * without any I/O, so the runbook logic is tested from recorded rows.
 */

/** One line of Redis `CLIENT LIST`, the fields the CLI uses. */
export interface RedisClientRow {
  /** `id=`: what `CLIENT KILL ID` takes. */
  readonly id: string;
  /** `addr=`: `host:port` of the client. */
  readonly addr: string;
  /** `name=` (`CLIENT SETNAME`); `''` when the client set none. */
  readonly name: string;
  /** `age=`: seconds since the connection opened. */
  readonly ageS: number;
  /** `idle=`: seconds since its last command. */
  readonly idleS: number;
  /** `flags=`: `N` none, `b` blocked, `P` pub/sub, `x` in MULTI, `S` replica, `M` master, `O` MONITOR. */
  readonly flags: string;
  /** `db=`: the selected database. */
  readonly db: number;
  /** `sub=` + `psub=` + `ssub=`: channels and patterns subscribed. */
  readonly subscriptions: number;
  /** `cmd=`: the last (or current) command. */
  readonly cmd: string;
  /** `user=`: the ACL user. */
  readonly user: string;
}

/** Redis `INFO` figures the findings need. */
export interface RedisServerInfo {
  /** `maxclients`. */
  readonly maxclients: number;
  /** `connected_clients`. */
  readonly connectedClients: number;
  /** `blocked_clients`. */
  readonly blockedClients: number;
  /** `rejected_connections` since the server started. */
  readonly rejectedConnections: number;
  /** `redis_version`. */
  readonly version: string;
}

/** A budget a running process published: `lifeguard:budget:<app>:<pool>:<pid>` = max, or from an endpoint. */
export interface PublishedBudget {
  readonly app: string;
  readonly pool: string;
  readonly pid: number;
  /** The pool's `max` (its whole connection budget). */
  readonly max: number;
}

/** Everything read from one Redis server in one pass. */
export interface RedisSnapshot {
  readonly kind: 'redis';
  /** The URL, password masked. */
  readonly target: string;
  /** When it was read (epoch ms). */
  readonly time: number;
  readonly info: RedisServerInfo;
  readonly clients: readonly RedisClientRow[];
  /** The CLI's own connection (`CLIENT ID`), left out of every view. */
  readonly selfId: string;
  /** Budgets published by lifeguard Redis pools (and endpoints), running or not. */
  readonly budgets: readonly PublishedBudget[];
}

/** One row of `pg_stat_activity` (client backends and others), ages in seconds. */
export interface PgActivityRow {
  readonly pid: number;
  /** Role name; `''` for background processes. */
  readonly user: string;
  /** Database; `''` for background processes. */
  readonly database: string;
  /** `application_name`; `''` when the client set none. */
  readonly applicationName: string;
  /** `client_addr` (`''` for a Unix socket or a background process). */
  readonly clientAddr: string;
  /** `backend_type`: `client backend`, `walsender`, `autovacuum worker`, … */
  readonly backendType: string;
  /** `state`: `active`, `idle`, `idle in transaction`, `idle in transaction (aborted)`, …; `''` when unknown. */
  readonly state: string;
  /** Seconds since `state_change`. */
  readonly stateAgeS: number;
  /** Seconds since `query_start` (0 when none). */
  readonly queryAgeS: number;
  /** Seconds since `xact_start` (undefined outside a transaction). */
  readonly xactAgeS: number | undefined;
  /** Seconds since `backend_start`. */
  readonly backendAgeS: number;
  /** `wait_event_type` (`Lock` means waiting for a lock); `''` when none. */
  readonly waitEventType: string;
  /** The current or last statement, first 200 characters. */
  readonly query: string;
  /** The role is a superuser (or the row is a replication connection): cleanup never ends it. */
  readonly superuser: boolean;
}

/** A per-role or per-database connection limit (`rolconnlimit` / `datconnlimit` >= 0). */
export interface PgLimit {
  readonly name: string;
  readonly limit: number;
}

/** Everything read from one PostgreSQL server in one pass. */
export interface PgSnapshot {
  readonly kind: 'pg';
  /** The URL, password masked. */
  readonly target: string;
  readonly time: number;
  /** `max_connections`. */
  readonly maxConnections: number;
  /** `superuser_reserved_connections` (+ `reserved_connections` on 16+). */
  readonly reservedConnections: number;
  readonly roleLimits: readonly PgLimit[];
  readonly databaseLimits: readonly PgLimit[];
  readonly activity: readonly PgActivityRow[];
  /** The CLI's own backend (`pg_backend_pid()`), left out of every view. */
  readonly selfPid: number;
  /** Budgets of PostgreSQL pools, from `--endpoint` (PostgreSQL has nowhere to publish them). */
  readonly budgets: readonly PublishedBudget[];
}

/** One pass over the servers. */
export type ServerSnapshot = RedisSnapshot | PgSnapshot;

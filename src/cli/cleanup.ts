/**
 * `lifeguard cleanup`: ends server-side connections that match every filter. Dry run
 * unless `--yes`. Never the CLI's own connection, another lifeguard CLI, a replica /
 * master / MONITOR link (Redis), a non-client backend, replication or superuser
 * session (PostgreSQL), or a connection named by anything but lifeguard.
 */
import { CLI_CONNECTION_NAME } from './collect.js';
import { table } from './format.js';
import { redisState } from './groups.js';
import { parsePgName, parseRedisName, pgAddress, type LifeguardName } from './names.js';
import type { PgActivityRow, PgSnapshot, RedisClientRow, RedisSnapshot } from './rows.js';
import { Session, type Targets } from './session.js';

/** The filters of cleanup; a connection is ended only if it matches all that are given. */
export interface CleanupFilters {
  /** `--app`: the app part of lifeguard's names. Required. */
  readonly app: string;
  /** `--pool`. @default any */
  readonly pool?: string | undefined;
  /** `--pid`: the process id in the name. @default any */
  readonly pid?: number | undefined;
  /** `--idle-for`: seconds since its last command (Redis) / since its state changed, not active (PostgreSQL). @default any */
  readonly idleForS?: number | undefined;
  /** `--state`: `idle` (Redis: not blocked, pub/sub or in MULTI), `idle-in-transaction` (Redis: in MULTI). @default any */
  readonly state?: 'idle' | 'idle-in-transaction' | undefined;
  /** `--type`: `pubsub` (Redis: subscribed; PostgreSQL: idle after LISTEN) or `normal`. @default any */
  readonly type?: 'normal' | 'pubsub' | undefined;
  /**
   * `--include-unnamed`: also connections that carry no name at all (they cannot match
   * `--pool` / `--pid`, so only without those). Connections named by something else are never ended.
   * @default false
   */
  readonly includeUnnamed?: boolean | undefined;
}

/** One connection cleanup matched (and, with `--yes`, tried to end). */
export interface CleanupTarget {
  readonly server: 'redis' | 'pg';
  /** Redis client id / PostgreSQL backend pid, as text. */
  readonly id: string;
  /** The client name / application_name (`''` when none). */
  readonly name: string;
  readonly app: string | null;
  readonly pool: string | null;
  readonly pid: number | null;
  readonly address: string;
  /** Redis: `active`/`idle`/`blocked`/`pubsub`/`multi`; PostgreSQL: `pg_stat_activity.state`. */
  readonly state: string;
  readonly idleS: number;
  readonly ageS: number;
  /** True once ended (always false in a dry run). */
  readonly ended: boolean;
}

/** What cleanup prints with `--json`. */
export interface CleanupReport {
  /** Format version. @default 1 */
  readonly version: 1;
  readonly dryRun: boolean;
  readonly filters: CleanupFilters;
  /** Every connection that matched, with `ended` saying whether it was ended. */
  readonly matched: readonly CleanupTarget[];
  /** How many were ended. */
  readonly ended: number;
  /** Targets that could not be read, or connections that could not be ended. */
  readonly errors: readonly string[];
}

function nameMatches(name: LifeguardName | undefined, raw: string, f: CleanupFilters): boolean {
  if (name === undefined) return raw === '' && f.includeUnnamed === true && f.pool === undefined && f.pid === undefined;
  return name.app === f.app && (f.pool === undefined || name.pool === f.pool) && (f.pid === undefined || name.pid === f.pid);
}

/** The Redis clients cleanup would end (pure). */
export function matchRedis(s: RedisSnapshot, f: CleanupFilters): RedisClientRow[] {
  return s.clients.filter((c) => {
    if (c.id === s.selfId || c.name === CLI_CONNECTION_NAME || /[SMO]/.test(c.flags)) return false;
    if (!nameMatches(parseRedisName(c.name), c.name, f)) return false;
    const st = redisState(c);
    if (f.idleForS !== undefined && c.idleS < f.idleForS) return false;
    if (f.state === 'idle' && (st === 'blocked' || st === 'pubsub' || st === 'multi')) return false;
    if (f.state === 'idle-in-transaction' && st !== 'multi') return false;
    if (f.type === 'pubsub' && st !== 'pubsub') return false;
    if (f.type === 'normal' && st === 'pubsub') return false;
    return true;
  });
}

function isListener(r: PgActivityRow): boolean {
  return r.state === 'idle' && /^\s*listen\s/i.test(r.query);
}

/** The PostgreSQL backends cleanup would end (pure). */
export function matchPg(s: PgSnapshot, f: CleanupFilters): PgActivityRow[] {
  return s.activity.filter((r) => {
    if (r.pid === s.selfPid || r.backendType !== 'client backend' || r.superuser || r.applicationName === CLI_CONNECTION_NAME) return false;
    if (!nameMatches(parsePgName(r.applicationName), r.applicationName, f)) return false;
    if (f.idleForS !== undefined && (r.state === 'active' || r.stateAgeS < f.idleForS)) return false;
    if (f.state === 'idle' && r.state !== 'idle') return false;
    if (f.state === 'idle-in-transaction' && !r.state.startsWith('idle in transaction')) return false;
    if (f.type === 'pubsub' && !isListener(r)) return false;
    if (f.type === 'normal' && isListener(r)) return false;
    return true;
  });
}

function redisTarget(c: RedisClientRow, ended: boolean): CleanupTarget {
  const n = parseRedisName(c.name);
  return { server: 'redis', id: c.id, name: c.name, app: n?.app ?? null, pool: n?.pool ?? null, pid: n?.pid ?? null, address: c.addr, state: redisState(c), idleS: c.idleS, ageS: c.ageS, ended };
}

function pgTarget(r: PgActivityRow, ended: boolean): CleanupTarget {
  const n = parsePgName(r.applicationName);
  return {
    server: 'pg',
    id: String(r.pid),
    name: r.applicationName,
    app: n?.app ?? null,
    pool: n?.pool ?? null,
    pid: n?.pid ?? null,
    address: pgAddress(r),
    state: r.state,
    idleS: r.state === 'active' ? 0 : Math.floor(r.stateAgeS),
    ageS: Math.floor(r.backendAgeS),
    ended,
  };
}

/**
 * Ends each row with `end` (a dry run when undefined) and records it as a target;
 * a failure is recorded under `what` the row is. Redis ends by id: ids are never
 * reused, so a kill cannot hit a newer connection.
 */
async function endEach<R>(
  rows: readonly R[],
  end: ((row: R) => Promise<boolean>) | undefined,
  what: (row: R) => string,
  target: (row: R, ended: boolean) => CleanupTarget,
  matched: CleanupTarget[],
  errors: string[],
): Promise<void> {
  for (const row of rows) {
    let ended = false;
    if (end !== undefined) {
      try {
        ended = await end(row);
      } catch (err) {
        errors.push(`${what(row)}: ${(err as Error).message}`);
      }
    }
    matched.push(target(row, ended));
  }
}

/** Runs cleanup; returns the exit code (0 done, 1 some could not be ended, 3 a server could not be read). */
export async function cleanup(targets: Targets, f: CleanupFilters, yes: boolean, json: boolean, out: NodeJS.WritableStream): Promise<number> {
  const session = new Session(targets);
  const matched: CleanupTarget[] = [];
  const errors: string[] = [];
  try {
    const pass = await session.pass();
    errors.push(...pass.errors.map((e) => e.message));
    for (const s of pass.snapshots) {
      if (s.kind === 'redis') {
        const rows = matchRedis(s, f);
        const r = yes && rows.length > 0 ? await session.redis() : undefined;
        await endEach(rows, r && (async (c) => Number(await r.client('KILL', 'ID', c.id)) > 0), (c) => `redis CLIENT KILL ID ${c.id}`, redisTarget, matched, errors);
      } else {
        const rows = matchPg(s, f);
        const c = yes && rows.length > 0 ? await session.pg() : undefined;
        const end = c && (async (row: PgActivityRow) => {
          // the name is checked again: a pid reused since the read is left alone
          const res = await c.query<{ ended: boolean }>(
            `select pg_terminate_backend(pid) as ended from pg_stat_activity where pid = $1 and application_name = $2 and backend_type = 'client backend'`,
            [row.pid, row.applicationName],
          );
          return res.rows[0]?.ended === true;
        });
        await endEach(rows, end, (row) => `pg pg_terminate_backend(${row.pid})`, pgTarget, matched, errors);
      }
    }
    const ended = matched.filter((m) => m.ended).length;
    const report: CleanupReport = { version: 1, dryRun: !yes, filters: f, matched, ended, errors };
    if (json) {
      out.write(JSON.stringify(report, null, 2) + '\n');
    } else {
      const list = yes ? matched.filter((m) => m.ended) : matched;
      out.write(
        yes
          ? `Ended ${ended} of ${matched.length} matching connection(s).\n`
          : `Dry run: would end ${matched.length} connection(s). Run again with --yes to end them.\n`,
      );
      if (list.length > 0) {
        const rows = list.map((m) => ({ key: `${m.server}|${m.id}`, cells: [m.server, m.id, m.name || '(unnamed)', m.address, m.state, String(m.idleS), String(m.ageS)] }));
        out.write(table(['SERVER', 'ID', 'NAME', 'ADDRESS', 'STATE', 'IDLE S', 'AGE S'], rows).map((l) => `  ${l}`).join('\n') + '\n');
      }
      for (const e of errors) out.write(`error: ${e}\n`);
    }
    if (pass.errors.length > 0) return 3;
    return errors.length > 0 ? 1 : 0;
  } finally {
    await session.close();
  }
}

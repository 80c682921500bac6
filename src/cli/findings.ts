/**
 * The runbook checks, pure: rows from `CLIENT LIST` / `INFO` / `pg_stat_activity` go
 * in, groups (app → pool → process) and findings come out. No I/O, no clock: the time
 * of the snapshot is in the rows.
 */
import type { PgActivityRow, PgSnapshot, PublishedBudget, RedisClientRow, RedisSnapshot, ServerSnapshot } from './rows.js';

/** How bad a finding is. `info` is a note: it does not change the exit code. */
export type Severity = 'info' | 'warning' | 'critical';

/** One thing doctor found, with the numbers behind it and what to do. */
export interface Finding {
  /** Stable identifier, e.g. `redis-utilisation`, `pg-idle-in-transaction` (documented in the README). */
  readonly id: string;
  readonly server: 'redis' | 'pg';
  readonly severity: Severity;
  /** One line for a human. */
  readonly message: string;
  /** The figures behind it, by name (counts, limits, seconds, ratios). */
  readonly numbers: Readonly<Record<string, number>>;
  /** Which runbook step this answers. */
  readonly runbook: string;
  /** What to do next. */
  readonly action: string;
  /** The groups concerned (`app:pool:pid`, or a client name / address). */
  readonly subjects: readonly string[];
}

/** Thresholds of the checks. */
export interface Thresholds {
  /** Utilisation of a server limit that is a warning. @default 0.8 */
  readonly warnRatio: number;
  /** Utilisation of a server limit that is critical. @default 0.9 */
  readonly criticalRatio: number;
  /** A connection idle this long (s) is reported (runbook: `awk '$12 > 300'`). @default 300 */
  readonly idleS: number;
  /** A session idle in transaction this long (s) is reported. @default 10 */
  readonly idleInTransactionS: number;
  /** A query running this long (s) is reported (runbook: `interval '5 minutes'`). @default 300 */
  readonly longQueryS: number;
  /** A pool with this share of its budget blocked (BLPOP …) is a warning. @default 0.5 */
  readonly blockedShare: number;
  /** More blocked clients than this on a server is a warning (runbook: `blocked_clients > 10`). @default 10 */
  readonly blockedClients: number;
  /** More pub/sub connections than this in one process is a warning. @default 10 */
  readonly pubsubPerProcess: number;
}

/** The defaults of {@link Thresholds}. */
export const DEFAULT_THRESHOLDS: Thresholds = Object.freeze({
  warnRatio: 0.8,
  criticalRatio: 0.9,
  idleS: 300,
  idleInTransactionS: 10,
  longQueryS: 300,
  blockedShare: 0.5,
  blockedClients: 10,
  pubsubPerProcess: 10,
});

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

/** Parses the text of `CLIENT LIST` into rows. */
export function parseClientList(text: string): RedisClientRow[] {
  const rows: RedisClientRow[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const f = new Map<string, string>();
    // name= may be empty; values never contain spaces (SETNAME refuses them)
    for (const part of trimmed.split(' ')) {
      const eq = part.indexOf('=');
      if (eq > 0) f.set(part.slice(0, eq), part.slice(eq + 1));
    }
    const num = (k: string): number => Number(f.get(k) ?? 0) || 0;
    rows.push({
      id: f.get('id') ?? '',
      addr: f.get('addr') ?? '',
      name: f.get('name') ?? '',
      ageS: num('age'),
      idleS: num('idle'),
      flags: f.get('flags') ?? 'N',
      db: num('db'),
      subscriptions: num('sub') + num('psub') + num('ssub'),
      cmd: f.get('cmd') ?? '',
      user: f.get('user') ?? '',
    });
  }
  return rows;
}

/** Parses `INFO` text into `field → value`. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

/** The state a connection is counted under. */
export type RedisState = 'active' | 'idle' | 'blocked' | 'pubsub' | 'multi';

/** The state of one Redis client: blocked (`b`), pub/sub (`P`), in MULTI (`x`), idle (≥ 1 s since its last command) or active. */
export function redisState(row: RedisClientRow): RedisState {
  if (row.flags.includes('b')) return 'blocked';
  if (row.flags.includes('P') || row.subscriptions > 0) return 'pubsub';
  if (row.flags.includes('x')) return 'multi';
  return row.idleS >= 1 ? 'idle' : 'active';
}

/** The state of one PostgreSQL backend, as `pg_stat_activity.state` says (`unknown` when empty). */
export function pgState(row: PgActivityRow): string {
  return row.state === '' ? 'unknown' : row.state;
}

/** Connections counted by state. */
export type StateCounts = Readonly<Record<string, number>>;

/** One process of a pool: its connections on this server. */
export interface ProcessGroup {
  readonly pid: number;
  readonly connections: number;
  readonly states: StateCounts;
  /** The pool's budget in that process, when it was published; undefined when unknown. */
  readonly max: number | undefined;
}

/** One pool of an app, across processes. */
export interface PoolGroup {
  readonly pool: string;
  readonly connections: number;
  readonly states: StateCounts;
  readonly processes: readonly ProcessGroup[];
}

/** One app (the `app` option), across pools and processes. */
export interface AppGroup {
  readonly app: string;
  readonly connections: number;
  readonly states: StateCounts;
  readonly pools: readonly PoolGroup[];
}

/** Connections that are not lifeguard's, grouped by client name, or by address when unnamed. */
export interface OtherGroup {
  /** The client name, or `''` when unnamed. */
  readonly name: string;
  /** The client host when unnamed (no port), else `''`. */
  readonly address: string;
  readonly connections: number;
  readonly states: StateCounts;
}

/** The grouped view of one server. */
export interface ServerView {
  readonly server: 'redis' | 'pg';
  readonly target: string;
  /** Client connections counted (the CLI's own and server-internal ones left out). */
  readonly connections: number;
  /** The limit client connections count against (`maxclients`, or `max_connections` minus reserved). */
  readonly limit: number;
  readonly states: StateCounts;
  readonly apps: readonly AppGroup[];
  readonly other: readonly OtherGroup[];
}

interface Conn {
  readonly name: LifeguardName | undefined;
  readonly rawName: string;
  readonly address: string;
  readonly state: string;
}

function count(states: Map<string, number>, state: string): void {
  states.set(state, (states.get(state) ?? 0) + 1);
}

function sortedStates(states: Map<string, number>): StateCounts {
  return Object.fromEntries([...states.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/** `127.0.0.1:51234` → `127.0.0.1`, `[::1]:51234` → `::1`. */
function host(addr: string): string {
  return addr.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
}

function budgetKey(b: { app: string; pool: string; pid: number }): string {
  return `${b.app}:${b.pool}:${b.pid}`;
}

function group(server: 'redis' | 'pg', target: string, limit: number, conns: readonly Conn[], budgets: readonly PublishedBudget[]): ServerView {
  const max = new Map(budgets.map((b) => [budgetKey(b), b.max]));
  const apps = new Map<string, Map<string, Map<number, Map<string, number>>>>();
  const other = new Map<string, { name: string; address: string; states: Map<string, number> }>();
  const total = new Map<string, number>();
  for (const c of conns) {
    count(total, c.state);
    if (c.name !== undefined) {
      const pools = apps.get(c.name.app) ?? new Map<string, Map<number, Map<string, number>>>();
      apps.set(c.name.app, pools);
      const procs = pools.get(c.name.pool) ?? new Map<number, Map<string, number>>();
      pools.set(c.name.pool, procs);
      const states = procs.get(c.name.pid) ?? new Map<string, number>();
      procs.set(c.name.pid, states);
      count(states, c.state);
    } else {
      const address = c.rawName === '' ? c.address : '';
      const key = `${c.rawName}\u0000${address}`;
      const g = other.get(key) ?? { name: c.rawName, address, states: new Map<string, number>() };
      other.set(key, g);
      count(g.states, c.state);
    }
  }
  const sum = (m: Map<string, number>): number => [...m.values()].reduce((a, b) => a + b, 0);
  const merge = (maps: Map<string, number>[]): Map<string, number> => {
    const out = new Map<string, number>();
    for (const m of maps) for (const [k, v] of m) out.set(k, (out.get(k) ?? 0) + v);
    return out;
  };
  const appGroups: AppGroup[] = [...apps.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([app, pools]) => {
      const poolGroups: PoolGroup[] = [...pools.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([pool, procs]) => {
          const processes: ProcessGroup[] = [...procs.entries()]
            .sort(([a], [b]) => a - b)
            .map(([pid, states]) => ({ pid, connections: sum(states), states: sortedStates(states), max: max.get(budgetKey({ app, pool, pid })) }));
          const states = merge([...procs.values()]);
          return { pool, connections: sum(states), states: sortedStates(states), processes };
        });
      const states = merge([...pools.values()].flatMap((p) => [...p.values()]));
      return { app, connections: sum(states), states: sortedStates(states), pools: poolGroups };
    });
  const otherGroups: OtherGroup[] = [...other.values()]
    .map((g) => ({ name: g.name, address: g.address, connections: sum(g.states), states: sortedStates(g.states) }))
    .sort((a, b) => b.connections - a.connections || a.name.localeCompare(b.name) || a.address.localeCompare(b.address));
  return { server, target, connections: conns.length, limit, states: sortedStates(total), apps: appGroups, other: otherGroups };
}

/** Redis client rows the views count: not the CLI's own connection, not replicas or masters. */
export function redisClientRows(s: RedisSnapshot): RedisClientRow[] {
  return s.clients.filter((c) => c.id !== s.selfId && !/[SM]/.test(c.flags));
}

/** PostgreSQL rows the views count: client backends other than the CLI's own. */
export function pgClientRows(s: PgSnapshot): PgActivityRow[] {
  return s.activity.filter((r) => r.backendType === 'client backend' && r.pid !== s.selfPid);
}

/** The limit PostgreSQL client connections of ordinary roles count against. */
export function pgLimit(s: PgSnapshot): number {
  return s.maxConnections - s.reservedConnections;
}

/** Groups one server's connections by app → pool → process, the rest by name or address. */
export function groupConnections(s: ServerSnapshot): ServerView {
  if (s.kind === 'redis') {
    const conns = redisClientRows(s).map((c) => ({ name: parseRedisName(c.name), rawName: c.name, address: host(c.addr), state: redisState(c) }));
    return group('redis', s.target, s.info.maxclients, conns, s.budgets);
  }
  const conns = pgClientRows(s).map((r) => ({ name: parsePgName(r.applicationName), rawName: r.applicationName, address: r.clientAddr || 'local', state: pgState(r) }));
  return group('pg', s.target, pgLimit(s), conns, s.budgets);
}

function ratioSeverity(ratio: number, t: Thresholds): Severity | undefined {
  if (ratio >= t.criticalRatio) return 'critical';
  if (ratio >= t.warnRatio) return 'warning';
  return undefined;
}

const pct = (r: number): string => `${Math.round(r * 100)}%`;

function subjectOf(name: LifeguardName | undefined, raw: string, addr: string): string {
  if (name !== undefined) return budgetKey(name);
  return raw !== '' ? raw : `unnamed@${addr}`;
}

function bySubject<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    const list = out.get(k) ?? [];
    list.push(i);
    out.set(k, list);
  }
  return out;
}

function describeCounts(m: Map<string, unknown[]>, limit = 5): string {
  const parts = [...m.entries()].sort((a, b) => b[1].length - a[1].length).map(([k, v]) => `${v.length}× ${k}`);
  return parts.length > limit ? `${parts.slice(0, limit).join(', ')}, … ${parts.length - limit} more` : parts.join(', ');
}

/** The running processes' budgets (those with at least one connection open now), by `app:pool:pid`. */
export function runningBudgets(view: ServerView, budgets: readonly PublishedBudget[]): PublishedBudget[] {
  const running = new Set<string>();
  for (const a of view.apps) for (const p of a.pools) for (const pr of p.processes) running.add(budgetKey({ app: a.app, pool: p.pool, pid: pr.pid }));
  const seen = new Set<string>();
  const out: PublishedBudget[] = [];
  for (const b of budgets) {
    const k = budgetKey(b);
    if (running.has(k) && !seen.has(k)) {
      seen.add(k);
      out.push(b);
    }
  }
  return out;
}

/** "3 × a:cache (max 20) + 1 × b:jobs (max 10) = 70". */
function fleetText(budgets: readonly PublishedBudget[]): string {
  const by = new Map<string, { n: number; max: number; sum: number }>();
  for (const b of budgets) {
    const k = `${b.app}:${b.pool}`;
    const g = by.get(k) ?? { n: 0, max: b.max, sum: 0 };
    g.n++;
    g.sum += b.max;
    if (g.max !== b.max) g.max = Number.NaN;
    by.set(k, g);
  }
  const parts = [...by.entries()].map(([k, g]) => (Number.isNaN(g.max) ? `${g.n} processes of ${k} (${g.sum} in all)` : `${g.n} ${g.n === 1 ? 'process' : 'processes'} of ${k} × max ${g.max}`));
  return parts.join(' + ');
}

function fleetFinding(server: 'redis' | 'pg', view: ServerView, budgets: readonly PublishedBudget[], t: Thresholds, limitName: string, runbook: string): Finding[] {
  const running = runningBudgets(view, budgets);
  if (running.length === 0) return [];
  const sum = running.reduce((a, b) => a + b.max, 0);
  const ratio = sum / view.limit;
  const severity: Severity | undefined = sum > view.limit ? 'critical' : ratio >= t.warnRatio ? 'warning' : undefined;
  if (severity === undefined) return [];
  return [
    {
      id: `${server}-fleet-budget`,
      server,
      severity,
      message: `${fleetText(running)} = ${sum} ${sum > view.limit ? '>' : 'is ' + pct(ratio) + ' of'} ${limitName} ${view.limit}: at full load the running processes can ask for more connections than the server allows`,
      numbers: { processes: running.length, budgetSum: sum, limit: view.limit, ratio },
      runbook,
      action: `lower max per process (or the number of processes), or raise ${limitName}; pools that hit the server limit see "${server === 'redis' ? 'ERR max number of clients reached' : 'sorry, too many clients already'}"`,
      subjects: running.map(budgetKey),
    },
  ];
}

function redisFindings(s: RedisSnapshot, t: Thresholds, previous: RedisSnapshot | undefined): Finding[] {
  const out: Finding[] = [];
  const view = groupConnections(s);
  const rows = redisClientRows(s);
  const info = s.info;
  const connected = rows.length;
  const ratio = connected / info.maxclients;
  const sev = ratioSeverity(ratio, t);
  if (sev !== undefined) {
    out.push({
      id: 'redis-utilisation',
      server: 'redis',
      severity: sev,
      message: `${connected} of maxclients ${info.maxclients} connections in use (${pct(ratio)})`,
      numbers: { connected, maxclients: info.maxclients, ratio },
      runbook: 'Redis pool exhausted, step 1 "Check current Redis connection usage" and step 9 (connected_clients / maxclients > 0.8 warning, > 0.9 critical)',
      action: 'find who holds them below (step 2), then lower pool sizes or raise maxclients (step 3)',
      subjects: view.apps.map((a) => a.app),
    });
  }
  out.push(...fleetFinding('redis', view, s.budgets, t, 'maxclients', 'Redis pool exhausted, "Common causes: multiple application instances sharing single Redis instance" and step 3 "Increase maxclients limit"'));
  const rejectedSince = previous === undefined ? undefined : info.rejectedConnections - previous.info.rejectedConnections;
  if (info.rejectedConnections > 0 && (rejectedSince === undefined || rejectedSince > 0)) {
    out.push({
      id: 'redis-rejected-connections',
      server: 'redis',
      severity: rejectedSince !== undefined ? 'critical' : 'warning',
      message:
        rejectedSince !== undefined
          ? `${rejectedSince} connections rejected since the last refresh (maxclients reached); ${info.rejectedConnections} since the server started`
          : `${info.rejectedConnections} connections rejected since the server started (maxclients reached at some point)`,
      numbers: rejectedSince !== undefined ? { rejectedConnections: info.rejectedConnections, rejectedSinceLast: rejectedSince } : { rejectedConnections: info.rejectedConnections },
      runbook: 'Redis connection pool exhaustion, "Monitoring & Alerting": rejected_connections',
      action: 'run `lifeguard monitor` to see whether it is still growing; check the fleet budget and utilisation findings',
      subjects: [],
    });
  }
  // blocked clients and their share of each pool's budget
  const blocked = rows.filter((r) => redisState(r) === 'blocked');
  if (blocked.length > 0) {
    const groups = bySubject(blocked, (r) => subjectOf(parseRedisName(r.name), r.name, host(r.addr)));
    const max = new Map(s.budgets.map((b) => [budgetKey(b), b.max]));
    const shares: Record<string, number> = {};
    let worst = 0;
    for (const [k, v] of groups) {
      const m = max.get(k);
      if (m !== undefined) {
        shares[`share:${k}`] = v.length / m;
        worst = Math.max(worst, v.length / m);
      }
    }
    const cmds = bySubject(blocked, (r) => r.cmd.toUpperCase());
    const severity: Severity = worst >= t.blockedShare || blocked.length > t.blockedClients ? 'warning' : 'info';
    out.push({
      id: 'redis-blocked',
      server: 'redis',
      severity,
      message:
        `${blocked.length} blocked clients (${describeCounts(cmds)}): ${describeCounts(groups)}` +
        (worst > 0 ? `; the worst holds ${pct(worst)} of its pool's budget blocked` : ''),
      numbers: { blocked: blocked.length, blockedClients: info.blockedClients, worstShare: worst, ...shares },
      runbook: 'Redis pool exhausted, step 8 "Check for blocked clients" (blocked_clients > 10: investigate)',
      action: 'use finite BLPOP/BRPOP/XREAD BLOCK timeouts and keep blocking consumers in a pool of their own so they cannot starve the rest',
      subjects: [...groups.keys()],
    });
  }
  // pub/sub connections, and their growth between refreshes
  const pubsub = rows.filter((r) => redisState(r) === 'pubsub');
  if (pubsub.length > 0) {
    const groups = bySubject(pubsub, (r) => subjectOf(parseRedisName(r.name), r.name, host(r.addr)));
    const heavy = [...groups.entries()].filter(([, v]) => v.length > t.pubsubPerProcess);
    out.push({
      id: 'redis-pubsub',
      server: 'redis',
      severity: heavy.length > 0 ? 'warning' : 'info',
      message: `${pubsub.length} pub/sub connections: ${describeCounts(groups)}${heavy.length > 0 ? `; ${heavy.length} process(es) hold more than ${t.pubsubPerProcess}` : ''}`,
      numbers: { pubsub: pubsub.length, processes: groups.size },
      runbook: 'Redis connection pooling improvements, "Troubleshooting: High connection count": pub/sub subscriptions that are not cleaned up',
      action: 'one subscriber per process with many channels, not one connection per channel; close subscribers you no longer need (`cache.subscribers()` lists them with their sites)',
      subjects: [...groups.keys()],
    });
    if (previous !== undefined) {
      const before = bySubject(
        previous.clients.filter((r) => r.id !== previous.selfId && redisState(r) === 'pubsub'),
        (r) => subjectOf(parseRedisName(r.name), r.name, host(r.addr)),
      );
      const grew = [...groups.entries()].filter(([k, v]) => v.length > (before.get(k)?.length ?? 0));
      if (grew.length > 0) {
        const added = grew.reduce((a, [k, v]) => a + v.length - (before.get(k)?.length ?? 0), 0);
        out.push({
          id: 'redis-pubsub-growth',
          server: 'redis',
          severity: 'warning',
          message: `pub/sub connections grew by ${added} since the last refresh: ${grew.map(([k, v]) => `${k} ${before.get(k)?.length ?? 0} → ${v.length}`).join(', ')}`,
          numbers: { added, pubsub: pubsub.length },
          runbook: 'Redis connection pooling improvements, "Pub/Sub management": resource tracking to prevent leaks',
          action: 'a subscriber opened per request or per message and never closed: look at `cache.subscribers()` (sites) in that process',
          subjects: grew.map(([k]) => k),
        });
      }
    }
  }
  const idle = rows.filter((r) => redisState(r) === 'idle' && r.idleS > t.idleS);
  if (idle.length > 0) {
    const groups = bySubject(idle, (r) => subjectOf(parseRedisName(r.name), r.name, host(r.addr)));
    out.push({
      id: 'redis-idle',
      server: 'redis',
      severity: 'warning',
      message: `${idle.length} connections idle for more than ${t.idleS} s (longest ${Math.max(...idle.map((r) => r.idleS))} s): ${describeCounts(groups)}`,
      numbers: { idle: idle.length, thresholdS: t.idleS, longestS: Math.max(...idle.map((r) => r.idleS)) },
      runbook: 'Redis pool exhausted, step 7 "Identify and kill idle connections" (idle > 300 s)',
      action: 'connections held but unused: a leaked lease or a client outside any pool; `lifeguard cleanup --app … --idle-for …` ends them (dry run first)',
      subjects: [...groups.keys()],
    });
  }
  out.push(...unnamedFinding('redis', rows.filter((r) => r.name === '').map((r) => host(r.addr)), connected, 'Redis pool exhausted, step 2 "Identify connections by client" (count by name)'));
  return out;
}

function unnamedFinding(server: 'redis' | 'pg', addrs: string[], total: number, runbook: string): Finding[] {
  if (addrs.length === 0) return [];
  const groups = bySubject(addrs, (a) => a);
  return [
    {
      id: `${server}-unnamed`,
      server,
      severity: 'info',
      message: `${addrs.length} of ${total} connections carry no name, so nothing says which code holds them: ${describeCounts(groups)}`,
      numbers: { unnamed: addrs.length, connected: total },
      runbook,
      action: server === 'redis' ? 'open them through lifeguard (names them), or set connectionName on the ioredis client' : 'open them through lifeguard (names them), or set application_name',
      subjects: [...groups.keys()],
    },
  ];
}

function pgFindings(s: PgSnapshot, t: Thresholds): Finding[] {
  const out: Finding[] = [];
  const view = groupConnections(s);
  const rows = pgClientRows(s);
  const limit = pgLimit(s);
  const connected = rows.length;
  const ratio = connected / limit;
  const sev = ratioSeverity(ratio, t);
  if (sev !== undefined) {
    out.push({
      id: 'pg-utilisation',
      server: 'pg',
      severity: sev,
      message: `${connected} of ${limit} connections in use (${pct(ratio)}; max_connections ${s.maxConnections} minus ${s.reservedConnections} reserved)`,
      numbers: { connected, limit, maxConnections: s.maxConnections, reserved: s.reservedConnections, ratio },
      runbook: 'db_pool_exhausted, "Prevention: warning alerts at 80% utilization"; Database connection leak, step 1',
      action: 'find who holds them below; lower pool sizes or raise max_connections',
      subjects: view.apps.map((a) => a.app),
    });
  }
  for (const [kind, limits, key] of [
    ['role', s.roleLimits, (r: PgActivityRow) => r.user],
    ['database', s.databaseLimits, (r: PgActivityRow) => r.database],
  ] as const) {
    for (const l of limits) {
      const n = rows.filter((r) => key(r) === l.name).length;
      const lr = l.limit === 0 ? (n > 0 ? 1 : 0) : n / l.limit;
      const ls = l.limit === 0 ? (n > 0 ? 'critical' : undefined) : ratioSeverity(lr, t);
      if (ls === undefined) continue;
      out.push({
        id: `pg-${kind}-limit`,
        server: 'pg',
        severity: ls,
        message: `${kind} ${l.name}: ${n} of its CONNECTION LIMIT ${l.limit} in use (${pct(lr)})`,
        numbers: { connected: n, limit: l.limit, ratio: lr },
        runbook: 'db_pool_exhausted, "Common root causes: database connection limits"',
        action: `raise it (ALTER ${kind === 'role' ? 'ROLE' : 'DATABASE'} ${l.name} CONNECTION LIMIT …) or lower the pools that use it`,
        subjects: [l.name],
      });
    }
  }
  out.push(...fleetFinding('pg', view, s.budgets, t, 'max_connections (minus reserved)', 'db_pool_exhausted, "Connection pool misconfiguration" and "Database connection limits"'));
  const iit = rows.filter((r) => r.state.startsWith('idle in transaction') && r.stateAgeS > t.idleInTransactionS);
  if (iit.length > 0) {
    const groups = bySubject(iit, (r) => subjectOf(parsePgName(r.applicationName), r.applicationName, r.clientAddr || 'local'));
    const longest = Math.max(...iit.map((r) => r.stateAgeS));
    out.push({
      id: 'pg-idle-in-transaction',
      server: 'pg',
      severity: 'warning',
      message: `${iit.length} sessions idle in transaction for more than ${t.idleInTransactionS} s (longest ${Math.round(longest)} s): ${describeCounts(groups)}`,
      numbers: { sessions: iit.length, thresholdS: t.idleInTransactionS, longestS: longest },
      runbook: 'db_pool_exhausted, step 2.3 "Check for long-running transactions"',
      action: 'a transaction left open holds a connection and its locks: find the lease (`monitor --endpoint`), or end them with `lifeguard cleanup --state idle-in-transaction`',
      subjects: [...groups.keys()],
    });
  }
  const long = rows.filter((r) => r.state === 'active' && r.queryAgeS > t.longQueryS);
  if (long.length > 0) {
    const groups = bySubject(long, (r) => subjectOf(parsePgName(r.applicationName), r.applicationName, r.clientAddr || 'local'));
    out.push({
      id: 'pg-long-query',
      server: 'pg',
      severity: 'warning',
      message: `${long.length} queries running for more than ${t.longQueryS} s (longest ${Math.round(Math.max(...long.map((r) => r.queryAgeS)))} s): ${describeCounts(groups)}`,
      numbers: { queries: long.length, thresholdS: t.longQueryS, longestS: Math.max(...long.map((r) => r.queryAgeS)) },
      runbook: 'db_pool_exhausted, step 1.3 "Kill long-running queries" and step 5 "Check database load"',
      action: 'look at the statements (`--json` has them); end one with pg_terminate_backend(pid) only if it is safe',
      subjects: [...groups.keys()],
    });
  }
  const locked = rows.filter((r) => r.state === 'active' && r.waitEventType === 'Lock');
  if (locked.length > 0) {
    const groups = bySubject(locked, (r) => subjectOf(parsePgName(r.applicationName), r.applicationName, r.clientAddr || 'local'));
    out.push({
      id: 'pg-lock-wait',
      server: 'pg',
      severity: 'warning',
      message: `${locked.length} sessions waiting for a lock: ${describeCounts(groups)}`,
      numbers: { sessions: locked.length },
      runbook: 'db_pool_exhausted, step 5 "Check for database locks"',
      action: 'the holder is usually a session idle in transaction (see that finding)',
      subjects: [...groups.keys()],
    });
  }
  const idle = rows.filter((r) => r.state === 'idle' && r.stateAgeS > t.idleS);
  if (idle.length > 0) {
    const groups = bySubject(idle, (r) => subjectOf(parsePgName(r.applicationName), r.applicationName, r.clientAddr || 'local'));
    out.push({
      id: 'pg-idle',
      server: 'pg',
      severity: 'warning',
      message: `${idle.length} connections idle for more than ${t.idleS} s: ${describeCounts(groups)}`,
      numbers: { idle: idle.length, thresholdS: t.idleS, longestS: Math.max(...idle.map((r) => r.stateAgeS)) },
      runbook: 'Database connection leak, step 3.3 "Check for any open connections and close them"',
      action: 'lower idleTimeoutMs / min, or end them with `lifeguard cleanup --state idle --idle-for …`',
      subjects: [...groups.keys()],
    });
  }
  out.push(...unnamedFinding('pg', rows.filter((r) => r.applicationName === '').map((r) => r.clientAddr || 'local'), connected, 'Database connection leak, step 1 (who holds the connections)'));
  return out;
}

const ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Every finding of one pass, worst first. `previous` (monitor's last pass) enables the growth checks. */
export function findings(snapshots: readonly ServerSnapshot[], thresholds: Thresholds = DEFAULT_THRESHOLDS, previous: readonly ServerSnapshot[] = []): Finding[] {
  const out: Finding[] = [];
  for (const s of snapshots) {
    if (s.kind === 'redis') {
      const prev = previous.find((p): p is RedisSnapshot => p.kind === 'redis' && p.target === s.target);
      out.push(...redisFindings(s, thresholds, prev));
    } else {
      out.push(...pgFindings(s, thresholds));
    }
  }
  return out.sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}

/** The exit code of doctor: 0 nothing (or notes only), 1 a warning, 2 critical. */
export function exitCodeOf(list: readonly Finding[]): 0 | 1 | 2 {
  if (list.some((f) => f.severity === 'critical')) return 2;
  if (list.some((f) => f.severity === 'warning')) return 1;
  return 0;
}

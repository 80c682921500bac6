/**
 * Grouping one server's connections: by state, and by app → pool → process (the
 * rest by client name or address), with each process's published budget.
 */
import { budgetKey, host, type LifeguardName, parsePgName, parseRedisName, pgAddress } from './names.js';
import type { PgActivityRow, PgSnapshot, PublishedBudget, RedisClientRow, RedisSnapshot, ServerSnapshot } from './rows.js';

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
  const conns = pgClientRows(s).map((r) => ({ name: parsePgName(r.applicationName), rawName: r.applicationName, address: pgAddress(r), state: pgState(r) }));
  return group('pg', s.target, pgLimit(s), conns, s.budgets);
}

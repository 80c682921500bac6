// The runbook logic from recorded rows: CLIENT LIST text and pg_stat_activity rows in, groups and findings out.
import { describe, expect, it } from 'vitest';
import { matchPg, matchRedis } from '../../../src/cli/cleanup.js';
import {
  DEFAULT_THRESHOLDS,
  exitCodeOf,
  findings,
  groupConnections,
  parseClientList,
  parsePgName,
  parseRedisName,
} from '../../../src/cli/findings.js';
import type { PgActivityRow, PgSnapshot, RedisSnapshot } from '../../../src/cli/rows.js';

// recorded from redis 7.0 (ids, ports and names changed), plus the CLI's own line (id=99)
const CLIENT_LIST = `id=11 addr=10.0.0.5:40001 laddr=127.0.0.1:6379 fd=8 name=lifeguard:shop:cache:4242 age=900 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1 events=r cmd=ping user=default redir=-1 resp=2
id=12 addr=10.0.0.5:40002 laddr=127.0.0.1:6379 fd=9 name=lifeguard:shop:cache:4242 age=900 idle=600 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1 events=r cmd=get user=default redir=-1 resp=2
id=13 addr=10.0.0.5:40003 laddr=127.0.0.1:6379 fd=10 name=lifeguard:shop:cache:4242 age=900 idle=30 flags=b db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1 events=r cmd=blpop user=default redir=-1 resp=2
id=14 addr=10.0.0.5:40004 laddr=127.0.0.1:6379 fd=11 name=lifeguard:shop:cache:4242 age=900 idle=30 flags=b db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1 events=r cmd=blpop user=default redir=-1 resp=2
id=15 addr=10.0.0.6:40005 laddr=127.0.0.1:6379 fd=12 name=lifeguard:shop:cache:5151 age=60 idle=2 flags=P db=0 sub=1 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1 events=r cmd=subscribe user=default redir=-1 resp=2
id=16 addr=10.0.0.7:40006 laddr=127.0.0.1:6379 fd=13 name=lifeguard:billing:jobs:77 age=60 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1 events=r cmd=set user=default redir=-1 resp=2
id=17 addr=10.0.0.8:40007 laddr=127.0.0.1:6379 fd=14 name= age=4000 idle=3999 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1 events=r cmd=get user=default redir=-1 resp=2
id=18 addr=10.0.0.9:40008 laddr=127.0.0.1:6379 fd=15 name=sidekiq age=10 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1 events=r cmd=get user=default redir=-1 resp=2
id=19 addr=10.0.0.10:6380 laddr=127.0.0.1:6379 fd=16 name= age=10 idle=0 flags=S db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1 events=r cmd=replconf user=default redir=-1 resp=2
id=99 addr=127.0.0.1:50000 laddr=127.0.0.1:6379 fd=17 name=lifeguard-cli age=0 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 qbuf-free=0 argv-mem=10 multi-mem=0 rbs=1024 rbp=0 obl=0 oll=0 omem=0 tot-mem=1 events=r cmd=client|list user=default redir=-1 resp=2
`;

function redis(over: Partial<RedisSnapshot> = {}, maxclients = 100): RedisSnapshot {
  return {
    kind: 'redis',
    target: 'redis://10.0.0.1:6379',
    time: 0,
    info: { maxclients, connectedClients: 10, blockedClients: 2, rejectedConnections: 0, version: '7.0.15' },
    clients: parseClientList(CLIENT_LIST),
    selfId: '99',
    budgets: [
      { app: 'shop', pool: 'cache', pid: 4242, max: 4 },
      { app: 'shop', pool: 'cache', pid: 5151, max: 4 },
      { app: 'shop', pool: 'cache', pid: 9999, max: 400 }, // published, but no connection: not running
    ],
    ...over,
  };
}

function row(over: Partial<PgActivityRow>): PgActivityRow {
  return {
    pid: 1,
    user: 'app',
    database: 'shop',
    applicationName: '',
    clientAddr: '10.0.0.5',
    backendType: 'client backend',
    state: 'idle',
    stateAgeS: 1,
    queryAgeS: 1,
    xactAgeS: undefined,
    backendAgeS: 100,
    waitEventType: '',
    query: 'select 1',
    superuser: false,
    ...over,
  };
}

function pgSnap(activity: PgActivityRow[], over: Partial<PgSnapshot> = {}): PgSnapshot {
  return {
    kind: 'pg',
    target: 'postgres://app:***@db/shop',
    time: 0,
    maxConnections: 100,
    reservedConnections: 3,
    roleLimits: [],
    databaseLimits: [],
    activity,
    selfPid: 999,
    budgets: [],
    ...over,
  };
}

const PG_ROWS = [
  row({ pid: 10, applicationName: 'shop:db:4242', state: 'idle', stateAgeS: 400 }),
  row({ pid: 11, applicationName: 'shop:db:4242', state: 'idle in transaction', stateAgeS: 45, xactAgeS: 50 }),
  row({ pid: 12, applicationName: 'shop:db:4242', state: 'active', queryAgeS: 700, query: 'select * from big' }),
  row({ pid: 13, applicationName: 'shop:db:5151', state: 'active', queryAgeS: 2, waitEventType: 'Lock' }),
  row({ pid: 14, applicationName: 'psql', state: 'idle', stateAgeS: 5, user: 'postgres', superuser: true }),
  row({ pid: 15, applicationName: '', state: 'idle', stateAgeS: 5 }),
  row({ pid: 16, applicationName: 'shop:db:4242', state: 'idle', stateAgeS: 900, query: 'LISTEN jobs' }),
  row({ pid: 20, applicationName: '', backendType: 'walsender', user: 'repl', superuser: true }),
  row({ pid: 21, applicationName: '', backendType: 'autovacuum launcher', user: '', database: '', state: '' }),
  row({ pid: 999, applicationName: 'lifeguard-cli', state: 'active' }),
];

describe('server-side names', () => {
  it('reads lifeguard names back, and nothing else', () => {
    expect(parseRedisName('lifeguard:shop:cache:4242')).toEqual({ app: 'shop', pool: 'cache', pid: 4242 });
    expect(parseRedisName('lifeguard:my:app:cache:1')).toEqual({ app: 'my:app', pool: 'cache', pid: 1 });
    expect(parseRedisName('shop:cache:4242')).toBeUndefined();
    expect(parseRedisName('lifeguard-cli')).toBeUndefined();
    expect(parsePgName('shop:db:4242')).toEqual({ app: 'shop', pool: 'db', pid: 4242 });
    expect(parsePgName('psql')).toBeUndefined();
    expect(parsePgName('a:b:notapid')).toBeUndefined();
    expect(parsePgName('::1')).toBeUndefined();
  });
});

describe('grouping', () => {
  it('groups Redis clients by app → pool → process, the rest by name or address; leaves out the CLI and replicas', () => {
    const view = groupConnections(redis());
    expect(view.connections).toBe(8);
    expect(view.apps.map((a) => [a.app, a.connections])).toEqual([
      ['billing', 1],
      ['shop', 5],
    ]);
    const shop = view.apps[1]!;
    expect(shop.pools[0]!.processes).toEqual([
      { pid: 4242, connections: 4, max: 4, states: { active: 1, blocked: 2, idle: 1 } },
      { pid: 5151, connections: 1, max: 4, states: { pubsub: 1 } },
    ]);
    expect(view.other).toEqual([
      { name: '', address: '10.0.0.8', connections: 1, states: { idle: 1 } },
      { name: 'sidekiq', address: '', connections: 1, states: { active: 1 } },
    ]);
  });

  it('groups PostgreSQL client backends by application_name, leaving out background processes and the CLI', () => {
    const view = groupConnections(pgSnap(PG_ROWS));
    expect(view.limit).toBe(97);
    expect(view.connections).toBe(7);
    expect(view.apps[0]!.pools[0]!.processes.map((p) => [p.pid, p.states])).toEqual([
      [4242, { active: 1, idle: 2, 'idle in transaction': 1 }],
      [5151, { active: 1 }],
    ]);
    expect(view.other.map((o) => [o.name, o.address, o.connections])).toEqual([
      ['', '10.0.0.5', 1],
      ['psql', '', 1],
    ]);
  });
});

describe('Redis findings', () => {
  it('reports blocked clients with their share of the budget, pub/sub, idle and unnamed connections', () => {
    const list = findings([redis()]);
    const ids = list.map((f) => f.id);
    expect(ids).toEqual(['redis-blocked', 'redis-idle', 'redis-pubsub', 'redis-unnamed']);
    const blocked = list.find((f) => f.id === 'redis-blocked')!;
    // 2 of the 4 permits of shop:cache:4242 sit in BLPOP: 50% is a warning
    expect(blocked).toMatchObject({ severity: 'warning', numbers: { blocked: 2, 'share:shop:cache:4242': 0.5, worstShare: 0.5 }, subjects: ['shop:cache:4242'] });
    expect(blocked.message).toContain('2× BLPOP');
    expect(blocked.runbook).toMatch(/step 8/);
    expect(list.find((f) => f.id === 'redis-idle')).toMatchObject({ severity: 'warning', numbers: { idle: 2, longestS: 3999 }, subjects: expect.arrayContaining(['shop:cache:4242', 'unnamed@10.0.0.8']) });
    expect(list.find((f) => f.id === 'redis-pubsub')).toMatchObject({ severity: 'info', subjects: ['shop:cache:5151'] });
    expect(list.find((f) => f.id === 'redis-unnamed')).toMatchObject({ severity: 'info', numbers: { unnamed: 1, connected: 8 } });
    expect(exitCodeOf(list)).toBe(1);
  });

  it('warns at 80% of maxclients and is critical at 90%', () => {
    expect(findings([redis({}, 10)]).find((f) => f.id === 'redis-utilisation')).toMatchObject({ severity: 'warning', numbers: { connected: 8, maxclients: 10 } });
    expect(findings([redis({}, 8)]).find((f) => f.id === 'redis-utilisation')).toMatchObject({ severity: 'critical' });
    expect(findings([redis({}, 11)]).find((f) => f.id === 'redis-utilisation')).toBeUndefined();
  });

  it('adds up the budgets of the running processes against maxclients (the fleet view)', () => {
    const fleet = findings([redis({}, 7)]).find((f) => f.id === 'redis-fleet-budget');
    // pid 9999 published a budget but holds no connection: not counted
    expect(fleet).toMatchObject({ severity: 'critical', numbers: { processes: 2, budgetSum: 8, limit: 7 } });
    expect(fleet!.message).toMatch(/^2 processes of shop:cache × max 4 = 8 > maxclients 7/);
    expect(findings([redis({}, 10)]).find((f) => f.id === 'redis-fleet-budget')).toMatchObject({ severity: 'warning' });
    expect(findings([redis({}, 11)]).find((f) => f.id === 'redis-fleet-budget')).toBeUndefined();
  });

  it('reports rejected connections, and their growth and pub/sub growth between refreshes', () => {
    const before = redis({ info: { maxclients: 100, connectedClients: 9, blockedClients: 2, rejectedConnections: 3, version: '7' } });
    expect(findings([before]).find((f) => f.id === 'redis-rejected-connections')).toMatchObject({ severity: 'warning', numbers: { rejectedConnections: 3 } });
    const extraSub = parseClientList(CLIENT_LIST.replace('id=16 ', 'id=20 ').replace('name=lifeguard:billing:jobs:77', 'name=lifeguard:shop:cache:5151').replace(/(id=20 .*?)flags=N(.*?)sub=0/, '$1flags=P$2sub=1'));
    const after = redis({ info: { maxclients: 100, connectedClients: 9, blockedClients: 2, rejectedConnections: 5, version: '7' }, clients: extraSub });
    const list = findings([after], DEFAULT_THRESHOLDS, [before]);
    expect(list.find((f) => f.id === 'redis-rejected-connections')).toMatchObject({ severity: 'critical', numbers: { rejectedSinceLast: 2 } });
    expect(list.find((f) => f.id === 'redis-pubsub-growth')).toMatchObject({ severity: 'warning', numbers: { added: 1 }, subjects: ['shop:cache:5151'] });
    // no new rejections since the last refresh: no finding
    expect(findings([before], DEFAULT_THRESHOLDS, [before]).find((f) => f.id === 'redis-rejected-connections')).toBeUndefined();
  });

  it('finds nothing on a quiet server', () => {
    const quiet = redis({ clients: parseClientList(CLIENT_LIST.split('\n')[0]!), budgets: [] });
    expect(findings([quiet])).toEqual([]);
    expect(exitCodeOf([])).toBe(0);
  });
});

describe('PostgreSQL findings', () => {
  it('reports idle in transaction, long queries, lock waits, idle and unnamed sessions, with runbook steps', () => {
    const list = findings([pgSnap(PG_ROWS)], { ...DEFAULT_THRESHOLDS, idleInTransactionS: 30 });
    expect(list.map((f) => f.id)).toEqual(['pg-idle-in-transaction', 'pg-long-query', 'pg-lock-wait', 'pg-idle', 'pg-unnamed']);
    expect(list[0]).toMatchObject({ numbers: { sessions: 1, longestS: 45 }, subjects: ['shop:db:4242'], runbook: expect.stringMatching(/long-running transactions/) });
    expect(list[1]).toMatchObject({ numbers: { queries: 1, longestS: 700 } });
    expect(list[2]).toMatchObject({ subjects: ['shop:db:5151'] });
    expect(list[3]).toMatchObject({ numbers: { idle: 2, longestS: 900 } });
    expect(list[4]).toMatchObject({ severity: 'info', numbers: { unnamed: 1 } });
  });

  it('checks max_connections and role / database CONNECTION LIMITs at 80% and 90%', () => {
    const rows = Array.from({ length: 9 }, (_, i) => row({ pid: 100 + i, applicationName: `shop:db:${i}` }));
    const list = findings([pgSnap(rows, { maxConnections: 13, reservedConnections: 3, roleLimits: [{ name: 'app', limit: 9 }], databaseLimits: [{ name: 'shop', limit: 20 }] })]);
    expect(list.find((f) => f.id === 'pg-utilisation')).toMatchObject({ severity: 'critical', numbers: { connected: 9, limit: 10 } });
    expect(list.find((f) => f.id === 'pg-role-limit')).toMatchObject({ severity: 'critical', subjects: ['app'] });
    expect(list.find((f) => f.id === 'pg-database-limit')).toBeUndefined();
  });

  it('adds up budgets learned from endpoints against max_connections', () => {
    const rows = [row({ pid: 1, applicationName: 'shop:db:1' }), row({ pid: 2, applicationName: 'shop:db:2' })];
    const budgets = [
      { app: 'shop', pool: 'db', pid: 1, max: 60 },
      { app: 'shop', pool: 'db', pid: 2, max: 60 },
    ];
    expect(findings([pgSnap(rows, { budgets })]).find((f) => f.id === 'pg-fleet-budget')).toMatchObject({ severity: 'critical', numbers: { budgetSum: 120, limit: 97 } });
  });
});

describe('cleanup matching', () => {
  it('matches Redis clients by every filter, never the CLI, replicas or foreign names', () => {
    const s = redis();
    const ids = (f: Parameters<typeof matchRedis>[1]): string[] => matchRedis(s, f).map((c) => c.id);
    expect(ids({ app: 'shop' })).toEqual(['11', '12', '13', '14', '15']);
    expect(ids({ app: 'shop', pid: 4242, state: 'idle' })).toEqual(['11', '12']);
    expect(ids({ app: 'shop', idleForS: 300 })).toEqual(['12']);
    expect(ids({ app: 'shop', type: 'pubsub' })).toEqual(['15']);
    expect(ids({ app: 'shop', type: 'normal', pool: 'nope' })).toEqual([]);
    expect(ids({ app: 'billing', includeUnnamed: true })).toEqual(['16', '17']);
    expect(ids({ app: 'billing', includeUnnamed: true, pid: 77 })).toEqual(['16']);
  });

  it('matches PostgreSQL backends, never superusers, replication, background processes or the CLI', () => {
    const s = pgSnap(PG_ROWS);
    const pids = (f: Parameters<typeof matchPg>[1]): number[] => matchPg(s, f).map((r) => r.pid);
    expect(pids({ app: 'shop' })).toEqual([10, 11, 12, 13, 16]);
    expect(pids({ app: 'shop', state: 'idle-in-transaction' })).toEqual([11]);
    expect(pids({ app: 'shop', state: 'idle', type: 'normal' })).toEqual([10]);
    expect(pids({ app: 'shop', type: 'pubsub' })).toEqual([16]);
    expect(pids({ app: 'shop', idleForS: 60 })).toEqual([10, 16]);
    expect(pids({ app: 'nobody', includeUnnamed: true })).toEqual([15]);
  });
});

// `lifeguard cleanup` against the real servers: a dry run ends nothing; with --yes it
// ends exactly the connections matching every filter (checked server-side), while a
// lifeguard app that does not match and plain clients stay connected.
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CleanupReport } from '../../../src/cli/cleanup.js';
import { parseClientList } from '../../../src/cli/findings.js';
import { runJson, startApp, type RunningApp } from '../../helpers/cli.js';
import { DATABASE_URL, REDIS_URL } from '../../helpers/env.js';
import { unique } from '../../helpers/unique.js';

// cleanup never ends a superuser's session: the apps connect as an ordinary role
const ROLE = 'lifeguard_cli_test';
const appUrl = (): string => {
  const u = new URL(DATABASE_URL);
  u.username = ROLE;
  u.password = '';
  return u.toString();
};

const apps: RunningApp[] = [];
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  await c.query(`do $$ begin create role ${ROLE} login; exception when duplicate_object or unique_violation then null; end $$`);
  await c.end();
});

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
  await Promise.all(closers.splice(0).map((f) => f()));
});

async function redisIds(): Promise<Map<string, string>> {
  const r = new Redis(REDIS_URL);
  try {
    return new Map(parseClientList((await r.client('LIST')) as string).map((c) => [c.id, c.name]));
  } finally {
    r.disconnect();
  }
}

async function pgPids(): Promise<Map<number, string>> {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  try {
    const { rows } = await c.query<{ pid: number; name: string; state: string }>(`select pid, application_name as name, state from pg_stat_activity`);
    return new Map(rows.map((r) => [r.pid, `${r.name}|${r.state}`]));
  } finally {
    await c.end();
  }
}

describe('lifeguard cleanup', () => {
  it('dry run ends nothing; --yes ends exactly the matching connections', async () => {
    const a = unique('clean_a');
    const b = unique('clean_b');
    const [pa, pb] = await Promise.all([
      startApp({ app: a, redis: { url: REDIS_URL, pool: 'cache', max: 5, idle: 2, pubsub: 1 }, pg: { url: appUrl(), pool: 'db', max: 4, idle: 2, idleInTx: 1 } }),
      startApp({ app: b, redis: { url: REDIS_URL, pool: 'cache', max: 3, idle: 1 }, pg: { url: appUrl(), pool: 'db', max: 2, idle: 1 } }),
    ]);
    apps.push(pa!, pb!);
    // plain clients, named by nobody
    const plainRedis = new Redis(REDIS_URL);
    await plainRedis.ping();
    const plainPg = new pg.Client({ connectionString: appUrl() });
    await plainPg.connect();
    closers.push(async () => plainRedis.disconnect(), () => plainPg.end());
    const plainRedisId = String(await plainRedis.client('ID'));
    const plainPgPid = (await plainPg.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;

    const servers = ['--redis', REDIS_URL, '--pg', DATABASE_URL];
    const beforeRedis = await redisIds();
    const beforePg = await pgPids();
    const dry = await runJson<CleanupReport>(['cleanup', ...servers, '--app', a]);
    expect(dry.code).toBe(0);
    expect(dry.json.dryRun).toBe(true);
    expect(dry.json.ended).toBe(0);
    // Redis: shared client + 2 leases + 1 subscriber; PostgreSQL: 2 idle + 1 idle in transaction
    expect(dry.json.matched.filter((m) => m.server === 'redis')).toHaveLength(4);
    expect(dry.json.matched.filter((m) => m.server === 'pg')).toHaveLength(3);
    expect(dry.json.matched.every((m) => m.app === a && m.pid === pa!.pid && !m.ended)).toBe(true);
    const afterDryRedis = await redisIds();
    const afterDryPg = await pgPids();
    for (const m of dry.json.matched) {
      if (m.server === 'redis') expect(afterDryRedis.has(m.id)).toBe(true);
      else expect(afterDryPg.has(Number(m.id))).toBe(true);
    }

    // idle, normal connections of app a only: not its subscriber, not its transaction
    const run = await runJson<CleanupReport>(['cleanup', ...servers, '--app', a, '--pool', 'cache', '--pid', String(pa!.pid), '--state', 'idle', '--type', 'normal', '--yes']);
    const pgRun = await runJson<CleanupReport>(['cleanup', '--pg', DATABASE_URL, '--app', a, '--state', 'idle', '--yes']);
    expect(run.code).toBe(0);
    expect(pgRun.code).toBe(0);
    const endedRedis = run.json.matched.filter((m) => m.server === 'redis');
    expect(endedRedis).toHaveLength(3);
    expect(endedRedis.every((m) => m.ended && m.state !== 'pubsub')).toBe(true);
    expect(run.json.matched.filter((m) => m.server === 'pg')).toHaveLength(0); // --pool cache matches no pg pool
    const endedPg = pgRun.json.matched;
    expect(endedPg).toHaveLength(2);
    expect(endedPg.every((m) => m.ended && m.state === 'idle')).toBe(true);

    const afterRedis = await redisIds();
    const afterPg = await pgPids();
    for (const m of endedRedis) expect(afterRedis.has(m.id)).toBe(false);
    for (const m of endedPg) expect(afterPg.has(Number(m.id))).toBe(false);
    // everything else that was there is still there: app b, a's subscriber and transaction, the plain clients
    const endedIds = new Set(endedRedis.map((m) => m.id));
    for (const [id, name] of beforeRedis) {
      if (name.startsWith(`lifeguard:${a}:`) || name.startsWith(`lifeguard:${b}:`)) expect(afterRedis.has(id) || endedIds.has(id)).toBe(true);
    }
    expect([...afterRedis.values()].filter((n) => n.startsWith(`lifeguard:${b}:`))).toHaveLength(2);
    expect(afterRedis.has(plainRedisId)).toBe(true);
    const endedPids = new Set(endedPg.map((m) => Number(m.id)));
    for (const [pid, v] of beforePg) {
      if (v.startsWith(`${a}:`) || v.startsWith(`${b}:`)) expect(afterPg.has(pid) || endedPids.has(pid)).toBe(true);
    }
    expect([...afterPg.values()].filter((v) => v.startsWith(`${b}:db:`))).toHaveLength(1);
    expect([...afterPg.values()].filter((v) => v === `${a}:db:${pa!.pid}|idle in transaction`)).toHaveLength(1);
    expect(afterPg.has(plainPgPid)).toBe(true);
    expect(await plainRedis.ping()).toBe('PONG');
    expect((await plainPg.query('select 1 as one')).rows[0].one).toBe(1);
  });

  it('never ends a superuser session, even when its name matches', async () => {
    const a = unique('clean_su');
    apps.push(await startApp({ app: a, pg: { url: DATABASE_URL, pool: 'db', max: 2, idle: 1 } }));
    const r = await runJson<CleanupReport>(['cleanup', '--pg', DATABASE_URL, '--app', a, '--yes']);
    expect(r.code).toBe(0);
    expect(r.json.matched).toEqual([]);
    expect([...(await pgPids()).values()].filter((v) => v.startsWith(`${a}:db:`))).toHaveLength(1);
  });
});

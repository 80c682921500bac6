// `lifeguard doctor` against the real servers: child processes with pools of known
// apps and sizes are grouped exactly, and the findings the test created are reported.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../../src/cli/doctor.js';
import type { AppGroup, Finding } from '../../../src/cli/findings.js';
import { eventually, runCli, runJson, startApp, type RunningApp } from '../../helpers/cli.js';
import { DATABASE_URL, REDIS_URL } from '../../helpers/env.js';
import { unique } from '../../helpers/unique.js';

const apps: RunningApp[] = [];
const prefixes: string[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
  // a pg_sleep outlives its client: end this test's backends
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  for (const p of prefixes.splice(0)) await c.query(`select pg_terminate_backend(pid) from pg_stat_activity where application_name like $1`, [`${p}:%`]);
  await c.end();
});

function app(report: DoctorReport, server: 'redis' | 'pg', name: string): AppGroup | undefined {
  return report.servers.find((s) => s.server === server)?.apps.find((a) => a.app === name);
}

function finding(report: DoctorReport, id: string, subject: string): Finding | undefined {
  return report.findings.find((f) => f.id === id && f.subjects.includes(subject));
}

describe('lifeguard doctor', () => {
  it('groups lifeguard connections by app, pool and process, with counts by state, and reports what the apps are doing', async () => {
    const a = unique('doc_a');
    const b = unique('doc_b');
    prefixes.push(a, b);
    const [pa, pb] = await Promise.all([
      startApp({
        app: a,
        redis: { url: REDIS_URL, pool: 'cache', max: 6, idle: 2, blocked: 1, pubsub: 1 },
        pg: { url: DATABASE_URL, pool: 'db', max: 4, idle: 1, idleInTx: 1, longQuery: 1 },
      }),
      startApp({ app: b, redis: { url: REDIS_URL, pool: 'jobs', max: 3, idle: 1 } }),
    ]);
    apps.push(pa!, pb!);
    const args = ['doctor', '--redis', REDIS_URL, '--pg', DATABASE_URL, '--idle', '1', '--idle-in-transaction', '1', '--long-query', '1'];
    // idle times are whole seconds on Redis: wait until the held leases count as idle > 1 s
    const { code, json } = await eventually(async () => {
      const r = await runJson<DoctorReport>(args);
      // both apps' held connections: they were opened at about the same time, but Redis counts idle time in whole seconds
      const idle = finding(r.json, 'redis-idle', `${a}:cache:${pa!.pid}`) && finding(r.json, 'redis-idle', `${b}:jobs:${pb!.pid}`);
      return idle && finding(r.json, 'pg-long-query', `${a}:db:${pa!.pid}`) ? r : undefined;
    }, 'the idle and long-query findings');

    expect(app(json, 'redis', a)).toEqual({
      app: a,
      connections: 5,
      states: expect.any(Object),
      pools: [
        {
          pool: 'cache',
          connections: 5,
          states: expect.any(Object),
          processes: [{ pid: pa!.pid, connections: 5, max: 6, states: expect.any(Object) }],
        },
      ],
    });
    const states = app(json, 'redis', a)!.pools[0]!.processes[0]!.states;
    // the shared client plus two held leases are idle or active; one BLPOP; one subscriber
    expect(states.blocked).toBe(1);
    expect(states.pubsub).toBe(1);
    expect((states.idle ?? 0) + (states.active ?? 0)).toBe(3);
    expect(states.idle).toBeGreaterThanOrEqual(2);
    expect(app(json, 'redis', b)!.pools).toEqual([{ pool: 'jobs', connections: 2, states: expect.any(Object), processes: [{ pid: pb!.pid, connections: 2, max: 3, states: expect.any(Object) }] }]);
    expect(app(json, 'pg', a)!.pools).toEqual([
      {
        pool: 'db',
        connections: 3,
        states: { active: 1, idle: 1, 'idle in transaction': 1 },
        // PostgreSQL has nowhere to publish a budget: known only through --endpoint
        processes: [{ pid: pa!.pid, connections: 3, states: { active: 1, idle: 1, 'idle in transaction': 1 } }],
      },
    ]);
    expect(app(json, 'pg', b)).toBeUndefined();

    expect(finding(json, 'redis-blocked', `${a}:cache:${pa!.pid}`)).toMatchObject({ server: 'redis', numbers: { [`share:${a}:cache:${pa!.pid}`]: 1 / 6 } });
    expect(finding(json, 'redis-blocked', `${a}:cache:${pa!.pid}`)!.message).toMatch(/BLPOP/);
    expect(finding(json, 'redis-pubsub', `${a}:cache:${pa!.pid}`)).toBeDefined();
    expect(finding(json, 'redis-idle', `${b}:jobs:${pb!.pid}`)).toMatchObject({ severity: 'warning' });
    expect(finding(json, 'pg-idle-in-transaction', `${a}:db:${pa!.pid}`)).toMatchObject({ severity: 'warning', runbook: expect.stringMatching(/long-running transactions/) });
    expect(finding(json, 'pg-long-query', `${a}:db:${pa!.pid}`)).toMatchObject({ severity: 'warning' });
    expect(finding(json, 'pg-idle', `${a}:db:${pa!.pid}`)).toBeDefined();
    for (const f of json.findings) expect(f.runbook.length).toBeGreaterThan(0);
    // warnings at least; the exit code is the report's
    expect([1, 2]).toContain(code);
    expect(json.exitCode).toBe(code);
  });

  it('prints readable tables and never the password', async () => {
    const a = unique('doc_txt');
    prefixes.push(a);
    apps.push(await startApp({ app: a, redis: { url: REDIS_URL, pool: 'cache', max: 4, idle: 1 } }));
    const withPassword = DATABASE_URL.replace('postgres@', 'postgres:s3cr3t-pw@');
    const r = await runCli(['doctor', '--redis', REDIS_URL, '--pg', withPassword]);
    expect(r.stdout).toMatch(/^Redis redis:\/\/127\.0\.0\.1:6379: \d+ of maxclients \d+ connections/m);
    expect(r.stdout).toMatch(new RegExp(`^  ${a} +2\\b`, 'm'));
    expect(r.stdout).toMatch(/^ +cache +2 +4\b/m);
    expect(r.stdout).toContain('postgres:***@');
    expect(r.stdout + r.stderr).not.toContain('s3cr3t-pw');
    expect(r.stdout).toMatch(/^Findings$/m);
  });

  it('exits 3 when a server cannot be reached, and on usage errors', async () => {
    const r = await runCli(['doctor', '--redis', 'redis://:hunter2@127.0.0.1:1']);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/could not read redis redis:\/\/:\*\*\*@127\.0\.0\.1:1: .*ECONNREFUSED/);
    expect(r.stdout).not.toContain('hunter2');
    expect((await runCli(['doctor'])).code).toBe(3);
    expect((await runCli(['doctor', '--idle', 'soon', '--redis', REDIS_URL])).code).toBe(3);
    expect((await runCli(['nonsense'])).code).toBe(3);
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/doctor[\s\S]*monitor[\s\S]*cleanup/);
  });
});

// The fleet view and doctor's exit codes on an own redis-server: processes publish
// their budgets, and doctor adds up those of the running ones against maxclients.
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { DoctorReport } from '../../src/cli/doctor.js';
import { eventually, runJson, startApp, type RunningApp } from '../helpers/cli.js';
import { startRedisServer, type EphemeralRedis } from '../helpers/redis-server.js';
import { unique } from '../helpers/unique.js';

const apps: RunningApp[] = [];
const servers: EphemeralRedis[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function server(): Promise<EphemeralRedis> {
  const s = await startRedisServer();
  servers.push(s);
  return s;
}

describe('lifeguard doctor on an own redis-server', () => {
  it('exits 0 with nothing to report, 1 on a warning, 2 when the running budgets exceed maxclients', async () => {
    const s = await server();
    const quiet = await runJson<DoctorReport>(['doctor', '--redis', s.url]);
    expect(quiet.code).toBe(0);
    expect(quiet.json).toMatchObject({ status: 'ok', exitCode: 0, findings: [] });

    const app = unique('fleet');
    const started = await Promise.all([0, 1, 2].map(() => startApp({ app, redis: { url: s.url, pool: 'cache', max: 5 } })));
    apps.push(...started);
    // every process published its budget (5 each): 15 against the default maxclients
    const ok = await eventually(async () => {
      const r = await runJson<DoctorReport>(['doctor', '--redis', s.url]);
      const procs = r.json.servers[0]?.apps[0]?.pools[0]?.processes ?? [];
      return procs.length === 3 && procs.every((p) => p.max === 5) ? r : undefined;
    }, 'three processes with their budgets');
    expect(ok.code).toBe(0);
    expect(ok.json.servers[0]!.apps[0]!.pools[0]!.processes.map((p) => p.pid)).toEqual(started.map((a) => a.pid).sort((x, y) => x - y));

    const admin = new Redis(s.url, { connectionName: 'test-admin' });
    try {
      await admin.config('SET', 'maxclients', '14');
      const warn = await runJson<DoctorReport>(['doctor', '--redis', s.url]);
      expect(warn.json.findings.map((f) => f.id)).toEqual(['redis-fleet-budget']);
      expect(warn.json.findings[0]).toMatchObject({ severity: 'critical', numbers: { processes: 3, budgetSum: 15, limit: 14 } });
      expect(warn.json.findings[0]!.message).toMatch(new RegExp(`^3 processes of ${app}:cache × max 5 = 15 > maxclients 14`));
      expect(warn.code).toBe(2);

      // 15 of 18 is 83%: a warning
      await admin.config('SET', 'maxclients', '18');
      const w = await runJson<DoctorReport>(['doctor', '--redis', s.url]);
      expect(w.json.findings).toMatchObject([{ id: 'redis-fleet-budget', severity: 'warning' }]);
      expect(w.code).toBe(1);

      // a process that stops no longer counts, even before its entry expires
      await started[0]!.stop();
      const two = await eventually(async () => {
        const r = await runJson<DoctorReport>(['doctor', '--redis', s.url]);
        return r.json.servers[0]?.apps[0]?.pools[0]?.processes.length === 2 ? r : undefined;
      }, 'two processes');
      expect(two.code).toBe(0);
    } finally {
      admin.disconnect();
    }
  });

  it('reports rejected connections once maxclients was hit', async () => {
    const s = await server();
    const admin = new Redis(s.url, { connectionName: 'test-admin' });
    try {
      await admin.config('SET', 'maxclients', '2');
      const extra = [new Redis(s.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 }), new Redis(s.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })];
      for (const r of extra) r.on('error', () => undefined);
      await Promise.allSettled(extra.map((r) => r.connect().then(() => r.ping())));
      for (const r of extra) r.disconnect();
      await admin.config('SET', 'maxclients', '100');
      const r = await runJson<DoctorReport>(['doctor', '--redis', s.url]);
      expect(r.json.findings.find((f) => f.id === 'redis-rejected-connections')).toMatchObject({ severity: 'warning' });
      expect(r.code).toBe(1);
    } finally {
      admin.disconnect();
    }
  });
});

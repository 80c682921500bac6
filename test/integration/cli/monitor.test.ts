// `lifeguard monitor`: refreshes into a pseudo-terminal (util-linux `script`) with the
// changed cells highlighted, plain lines when stdout is not a terminal, and a running
// app's leases through its lifeguard/http endpoint.
import { execFile, execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, childEnv, runCli, startApp, type RunningApp } from '../../helpers/cli.js';
import { REDIS_URL } from '../../helpers/env.js';
import { unique } from '../../helpers/unique.js';

const apps: RunningApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.stop()));
});

function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

describe('lifeguard monitor', () => {
  it.skipIf(!hasScript())('redraws a top-like screen in a terminal, highlighting what changed', async () => {
    const app = unique('mon_tty');
    // one more lease every 150 ms: the counts change between refreshes
    apps.push(await startApp({ app, redis: { url: REDIS_URL, pool: 'cache', max: 8, grow: 150 } }));
    const cmd = [process.execPath, CLI, 'monitor', '--redis', REDIS_URL, '--interval', '0.5', '--count', '3'].map(shellQuote).join(' ');
    const out = await new Promise<string>((resolve, reject) => {
      execFile('script', ['-qfec', cmd, '/dev/null'], { env: { ...childEnv(), TERM: 'xterm' }, timeout: 20_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    const screens = out.split('\x1b[H\x1b[2J').filter((s) => s.includes('lifeguard monitor'));
    expect(screens).toHaveLength(3);
    expect(screens[0]).toMatch(/refresh 1 every 0\.5 s/);
    expect(screens[2]).toMatch(/refresh 3 every 0\.5 s/);
    for (const s of screens) expect(s).toContain(app);
    // the first screen has nothing to compare with; later ones mark changed cells in reverse video
    expect(screens[0]).not.toContain('\x1b[7m');
    expect(screens.slice(1).some((s) => s.includes('\x1b[7m'))).toBe(true);
  });

  it('prints plain lines, one block per refresh, when stdout is not a terminal', async () => {
    const app = unique('mon_plain');
    const a = await startApp({ app, redis: { url: REDIS_URL, pool: 'cache', max: 4, idle: 1 } });
    apps.push(a);
    const r = await runCli(['monitor', '--redis', REDIS_URL, '--interval', '0.3', '--count', '2']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\x1b[');
    const lines = r.stdout.trim().split('\n');
    const heads = lines.filter((l) => / redis redis:\/\/127\.0\.0\.1:6379 connections=\d+\/\d+/.test(l));
    expect(heads).toHaveLength(2);
    expect(new Set(heads.map((l) => l.split(' ')[0])).size).toBe(2); // two refreshes, two times
    const mine = lines.filter((l) => l.includes(` ${app}:cache:${a.pid} `));
    expect(mine).toHaveLength(2);
    expect(mine[0]).toMatch(/connections=2 max=4/);
  });

  it('--endpoint shows a running app\'s pools and leases with their sites and tags', async () => {
    const app = unique('mon_ep');
    const a = await startApp({ app, redis: { url: REDIS_URL, pool: 'cache', max: 4, idle: 2 }, http: true, tag: 'GET /report' });
    apps.push(a);
    const url = `http://127.0.0.1:${a.port}/`;
    const r = await runCli(['monitor', '--endpoint', url, '--count', '1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`endpoint ${url} pid=${a.pid} pool=cache driver=redis max=4 open=2 active=2 idle=0`));
    const leases = r.stdout.split('\n').filter((l) => l.includes(' lease '));
    expect(leases).toHaveLength(2);
    for (const l of leases) expect(l).toMatch(/kind=lease .*tag="GET \/report" site=.*app\.mjs:\d+:\d+/);

    const json = await runCli(['monitor', '--endpoint', url, '--count', '1', '--json']);
    const doc = JSON.parse(json.stdout) as { endpoints: { snapshot: { pools: { app: string; leases: { tag: string }[] }[] } }[] };
    expect(doc.endpoints[0]!.snapshot.pools[0]).toMatchObject({ app, leases: [{ tag: 'GET /report' }, { tag: 'GET /report' }] });
  });
});

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASE_URL } from '../../helpers/env.js';
import { PROMETHEUS } from '../../helpers/promtool.js';

const root = new URL('../../../', import.meta.url).pathname;
const children: ChildProcess[] = [];
const dirs: string[] = [];

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
// whatever happens, no prometheus or app outlives the test run
const killAll = (): void => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
};
process.once('exit', killAll);
afterAll(async () => {
  await Promise.all(children.map(stop));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
}

interface Alert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: string;
}

describe.skipIf(PROMETHEUS === undefined)('a real Prometheus scraping an app', () => {
  it('LifeguardPoolExhausted becomes pending while the app holds every connection', { timeout: 45_000 }, async () => {
    expect(existsSync(join(root, 'dist/prometheus.js')), 'npm run build first (npm test does)').toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'lg-prom-'));
    dirs.push(dir);

    // the example app on a free loopback port
    const app = spawn(process.execPath, [join(root, 'examples/prometheus-app.mjs')], {
      cwd: root,
      env: { ...process.env, PORT: '0', DATABASE_URL, POOL_MAX: '2' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(app);
    const appPort = await new Promise<number>((resolve, reject) => {
      let out = '';
      app.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening (\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      app.once('exit', (code) => reject(new Error(`the app exited (${code}): ${out}`)));
    });
    const appUrl = `http://127.0.0.1:${appPort}`;

    // the shipped rules, LifeguardPoolExhausted's `for:` shortened from 2m
    const alerts = readFileSync(join(root, 'deploy/prometheus/alerts.yml'), 'utf8');
    const shortened = alerts.replace(/(- alert: LifeguardPoolExhausted\n(?:.*\n)*?\s+for: )2m/, '$1' + '20s');
    expect(shortened).not.toBe(alerts);
    writeFileSync(join(dir, 'alerts.yml'), shortened);
    const promPort = await freePort();
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, evaluation_interval: 1s }',
        'rule_files: [alerts.yml]',
        'scrape_configs:',
        `  - job_name: app`,
        `    static_configs: [{ targets: ['127.0.0.1:${appPort}'] }]`,
        '',
      ].join('\n'),
    );
    const prom = spawn(
      PROMETHEUS!,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=error',
      ],
      { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    children.push(prom);
    const api = `http://127.0.0.1:${promPort}/api/v1`;
    const pendingOrFiring = async (): Promise<Alert[]> => {
      const body = (await (await fetch(`${api}/alerts`)).json()) as { data: { alerts: Alert[] } };
      return body.data.alerts.filter((a) => a.labels.alertname === 'LifeguardPoolExhausted');
    };

    // scraped, and the pool's series in Prometheus; nothing pending while connections are free
    await until('a scrape of the app', 15_000, async () => {
      const r = (await (await fetch(`${api}/query?query=${encodeURIComponent('lifeguard:db_client_connection_available{db_client_connection_pool_name="main"}')}`)).json()) as {
        data: { result: { value: [number, string] }[] };
      };
      return r.data.result.length === 1 ? r.data.result[0]!.value[1] : undefined;
    }).then((v) => expect(Number(v)).toBe(2));
    expect(await pendingOrFiring()).toEqual([]);

    // induced exhaustion: the app holds both connections
    expect(await (await fetch(`${appUrl}/exhaust`)).text()).toContain('holding 2');
    const [alert] = await until('LifeguardPoolExhausted pending', 15_000, async () => {
      const a = await pendingOrFiring();
      return a.length > 0 ? a : undefined;
    });
    expect(alert!.state).toBe('pending');
    expect(alert!.labels).toMatchObject({ db_client_connection_pool_name: 'main', db_system_name: 'postgresql', severity: 'critical', job: 'app' });
    expect(alert!.annotations.runbook_url).toBe('shared/runbooks/004_47125b60c1a59d4d.txt#immediate-investigation-steps');

    await fetch(`${appUrl}/release`);
    await Promise.all([stop(prom), stop(app)]);
    expect(prom.exitCode !== null || prom.signalCode !== null).toBe(true);
  });
});

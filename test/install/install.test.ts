// Install paths a user has before lifeguard is published: the packed tarball (what the
// registry would serve), and a clone installed with --install-links. Each scratch app has
// its own pg and ioredis, and lifeguard's pool must be an instance of the app's pg.Pool.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATABASE_URL } from '../helpers/env.js';
import { REPO } from '../fixtures/support/run-fixture.js';

const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
const PG = lock.packages['node_modules/pg']!.version;
const IOREDIS = lock.packages['node_modules/ioredis']!.version;
const scratch = mkdtempSync(join(tmpdir(), 'lg-install-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function npm(cwd: string, args: string[]): string {
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The app runs with plain `node`: none of npm's npm_* variables (this suite runs under npm test). */
const appEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|VITEST|NODE_ENV$)/.test(k)));

/** A scratch app with its own pg and ioredis, lifeguard installed from `spec`; returns what its scripts print. */
function app(name: string, spec: string[]): { esm: Record<string, unknown>; cjs: Record<string, unknown> } {
  const dir = join(scratch, name);
  execFileSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `scratch-${name}`, version: '1.0.0', private: true }));
  npm(dir, ['install', `pg@${PG}`, `ioredis@${IOREDIS}`, ...spec]);
  writeFileSync(
    join(dir, 'esm.mjs'),
    `import pg from 'pg';
import { createPgPool, createRedisPool } from 'lifeguard';
import { assertNoLeaks } from 'lifeguard/testing';
const pool = createPgPool({ connectionString: process.env.DATABASE_URL, max: 2 });
const { rows } = await pool.query("select 41 + 1 as n, current_setting('application_name') as app");
assertNoLeaks();
const redis = createRedisPool({ url: 'redis://127.0.0.1:1', max: 2, connectTimeoutMs: 100, reconnect: { maxAttempts: 1 }, logger: { error() {}, warn() {}, info() {}, debug() {} } });
await redis.close();
console.log(JSON.stringify({ instanceOfAppPool: pool instanceof pg.Pool, n: rows[0].n, app: rows[0].app.split(':').slice(0, 2).join(':') }));
await pool.end();
`,
  );
  writeFileSync(
    join(dir, 'cjs.cjs'),
    `const pg = require('pg');
const { createPgPool } = require('lifeguard');
const pool = createPgPool({ connectionString: process.env.DATABASE_URL, max: 1 });
pool.query('select 1 as n').then(({ rows }) => {
  console.log(JSON.stringify({ instanceOfAppPool: pool instanceof pg.Pool, n: rows[0].n }));
  return pool.end();
});
`,
  );
  const run = (file: string): Record<string, unknown> =>
    JSON.parse(execFileSync(process.execPath, [file], { cwd: dir, env: { ...appEnv, DATABASE_URL }, encoding: 'utf8' }).trim().split('\n').pop()!) as Record<string, unknown>;
  return { esm: run('esm.mjs'), cjs: run('cjs.cjs') };
}

describe('install paths', () => {
  it('the tarball holds exactly dist/, README.md, CHANGELOG.md and package.json', () => {
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], { cwd: REPO, encoding: 'utf8' }),
    ) as [{ files: { path: string }[] }];
    const files = packed.files.map((f) => f.path).sort();
    expect(files.filter((f) => !f.startsWith('dist/'))).toEqual(['CHANGELOG.md', 'README.md', 'package.json']);
    for (const entry of ['index', 'testing', 'vitest']) {
      for (const ext of ['.js', '.cjs', '.d.ts', '.d.cts']) expect(files).toContain(`dist/${entry}${ext}`);
    }
  });

  it('npm install <tarball>: imports (ESM and CommonJS), runs, and the pool is an instance of the app\'s pg.Pool', () => {
    const out = execFileSync('npm', ['pack', '--ignore-scripts', '--pack-destination', scratch, '--loglevel=error'], { cwd: REPO, encoding: 'utf8' });
    const tarball = join(scratch, out.trim().split('\n').pop()!);
    const r = app('tarball', [tarball]);
    expect(r.esm).toEqual({ instanceOfAppPool: true, n: 42, app: 'scratch-tarball:default' });
    expect(r.cjs).toEqual({ instanceOfAppPool: true, n: 1 });
  }, 120_000);

  it('npm install --install-links <clone>: the same (a plain folder install would symlink the clone and use its pg)', () => {
    // a clone after `npm ci`: the repository's files, its node_modules (the prepare step
    // builds dist/ there, not in this checkout, whose dist/ other tests are reading)
    const clone = join(scratch, 'clone');
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f !== '' && existsSync(join(REPO, f)));
    for (const f of files) cpSync(join(REPO, f), join(clone, f));
    symlinkSync(join(REPO, 'node_modules'), join(clone, 'node_modules'));
    const r = app('folder', ['--install-links', clone]);
    expect(existsSync(join(clone, 'dist', 'index.js'))).toBe(true); // built by prepare
    expect(r.esm).toEqual({ instanceOfAppPool: true, n: 42, app: 'scratch-folder:default' });
    expect(r.cjs).toEqual({ instanceOfAppPool: true, n: 1 });
  }, 180_000);
});

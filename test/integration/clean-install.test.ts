// The package as a user installs it, with only one of its optional peers: `npm pack`,
// then a clean project with just `pg` (or just `ioredis`) imports lifeguard and runs a query.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_URL, REDIS_URL } from '../helpers/env.js';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
let dir: string;
let tarball: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lg-install-'));
  // `npm test` built dist/ first; pack what would be published
  const { stdout } = await run('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', dir], { cwd: root });
  tarball = join(dir, stdout.trim().split('\n').pop()!);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function project(name: string, peer: string, files: Record<string, string>): Promise<string> {
  const cwd = join(dir, name);
  await run('mkdir', ['-p', cwd]);
  writeFileSync(join(cwd, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, peer], { cwd });
  for (const [f, text] of Object.entries(files)) writeFileSync(join(cwd, f), text);
  return cwd;
}

describe.concurrent('a clean install with one driver', () => {
  it('only pg: imports (ESM and CommonJS), runs a query, and a Redis pool says ioredis is missing', async () => {
    const cwd = await project('pg-only', 'pg', {
      'a.mjs': `import { createPgPool, silentLogger } from 'lifeguard';
import pg from 'pg';
const db = createPgPool({ connectionString: ${JSON.stringify(DATABASE_URL)}, max: 2, logger: silentLogger });
const { rows } = await db.query('select 1 as one');
console.log(JSON.stringify({ one: rows[0].one, isPgPool: db instanceof pg.Pool }));
await db.close();`,
      'b.cjs': `const { createPgPool, createRedisPool, silentLogger } = require('lifeguard');
(async () => {
  const db = createPgPool({ connectionString: ${JSON.stringify(DATABASE_URL)}, max: 2, logger: silentLogger });
  const two = (await db.query('select 2 as two')).rows[0].two;
  await db.close();
  let code; try { createRedisPool({}); } catch (e) { code = e.code + ': ' + e.message; }
  console.log(JSON.stringify({ two, code }));
})();`,
    });
    expect(JSON.parse((await run('node', ['a.mjs'], { cwd })).stdout)).toEqual({ one: 1, isPgPool: true });
    const b = JSON.parse((await run('node', ['b.cjs'], { cwd })).stdout) as { two: number; code: string };
    expect(b.two).toBe(2);
    expect(b.code).toMatch(/^CONFIG_INVALID: .*need the "ioredis" package/);
  }, 120_000);

  it('only ioredis: imports (ESM and CommonJS), runs a command, and a pg pool says pg is missing', async () => {
    const cwd = await project('redis-only', 'ioredis', {
      'a.mjs': `import { createRedisPool, createPgPool, silentLogger } from 'lifeguard';
const r = createRedisPool({ url: ${JSON.stringify(REDIS_URL)}, max: 2, logger: silentLogger });
const out = { shared: await r.client.ping(), pooled: await r.withConnection((c) => c.ping()) };
await r.close();
try { createPgPool({}); } catch (e) { out.code = e.code + ': ' + e.message; }
console.log(JSON.stringify(out));`,
      'b.cjs': `const { createRedisPool, silentLogger } = require('lifeguard');
(async () => {
  const r = createRedisPool({ url: ${JSON.stringify(REDIS_URL)}, max: 2, logger: silentLogger });
  console.log(JSON.stringify({ pong: await r.client.ping() }));
  await r.close();
})();`,
    });
    const a = JSON.parse((await run('node', ['a.mjs'], { cwd })).stdout) as Record<string, string>;
    expect(a).toMatchObject({ shared: 'PONG', pooled: 'PONG' });
    expect(a.code).toMatch(/^CONFIG_INVALID: .*need the "pg" package/);
    expect(JSON.parse((await run('node', ['b.cjs'], { cwd })).stdout)).toEqual({ pong: 'PONG' });
  }, 120_000);
});

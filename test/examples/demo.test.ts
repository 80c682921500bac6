// `npm run demo` with no URL set (it starts its own servers, never looks at the default
// ports), and with both URLs set (no outage on a server it must not stop).
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DATABASE_URL, REDIS_URL } from '../helpers/env.js';
import { REPO } from '../fixtures/support/run-fixture.js';

function demo(env: NodeJS.ProcessEnv): Promise<{ status: number | null; output: string; ms: number }> {
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(VITEST|VITEST_.*|NODE_ENV|NODE_OPTIONS|DATABASE_URL|REDIS_URL|LIFEGUARD_.*)$/.test(k)),
  );
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: REPO, env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (status) => resolve({ status, output, ms: performance.now() - t0 }));
  });
}

function inOrder(output: string, parts: RegExp[]): void {
  let at = 0;
  for (const p of parts) {
    const i = output.slice(at).search(p);
    expect(i, `${p} after offset ${at} in:\n${output}`).toBeGreaterThanOrEqual(0);
    at += i + 1;
  }
}

describe('npm run demo', () => {
  it('with no URL set: starts its servers, shows the four parts in order, cleans up, exits 0 within 120 s', async () => {
    const r = await demo({});
    expect(r.status, r.output).toBe(0);
    expect(r.ms).toBeLessThan(120_000);
    inOrder(r.output, [
      /started (embedded PostgreSQL|PostgreSQL from \S+) on port \d+/,
      /═ 1\. a leak/,
      /leak \(held-too-long\) in pg pool "main"[^]*at report \(\S*examples\/demo\/service\.ts:\d+:\d+\)/,
      /═ 2\. the pool runs dry/,
      /ACQUIRE_TIMEOUT[^]*longest holders: 4× examples\/demo\/service\.ts:\d+:\d+ \(oldest [\d.]+ s, "GET \/report"\)/,
      /═ 3\. Redis goes down/,
      /kill -9 redis-server \(pid \d+, port \d+/,
      /circuit closed → open/,
      /failed: \d+ CIRCUIT_OPEN/,
      /circuit (open|half-open) → closed/,
      /═ 4\. the metrics it would export/,
      /lifeguard_leaks_total\{[^}]*kind="held-too-long"[^}]*\} [1-9]/,
      /stopped (redis-server and embedded PostgreSQL|embedded PostgreSQL and redis-server|.*PostgreSQL.*)/,
    ]);
  }, 130_000);

  it('with DATABASE_URL and REDIS_URL set: uses them and skips the outage (it never stops a server it did not start)', async () => {
    const r = await demo({ DATABASE_URL, REDIS_URL });
    expect(r.status, r.output).toBe(0);
    expect(r.output).not.toMatch(/started (embedded|redis-server)/);
    expect(r.output).toContain('skipped the outage: REDIS_URL points at a server this demo must not stop');
    expect(r.output).toMatch(/GET \/rate\/ada → 200/);
  }, 60_000);
});

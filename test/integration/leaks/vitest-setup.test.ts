import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../fixtures/vitest-leak/', import.meta.url).pathname;
const fixture = join(root, 'leak.fixture.mjs');

describe("setupFiles: ['lifeguard/vitest']", () => {
  it('fails exactly the leaking test, naming the fixture file and the line of the acquire', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'lg-vitest-')), 'report.json');
    const vitest = new URL('../../../node_modules/vitest/vitest.mjs', import.meta.url).pathname;
    const run = spawnSync(process.execPath, [vitest, 'run', '--root', root, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`], {
      encoding: 'utf8',
      env: { ...process.env, VITEST: undefined, VITEST_POOL_ID: undefined, VITEST_WORKER_ID: undefined, NODE_OPTIONS: '' },
      timeout: 60_000,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.status, output).toBe(1);
    const report = JSON.parse(readFileSync(out, 'utf8')) as {
      testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
    };
    const results = report.testResults.flatMap((f) => f.assertionResults);
    const byTitle = Object.fromEntries(results.map((r) => [r.title, r]));
    expect(byTitle['forgets to release']?.status).toBe('failed');
    expect(byTitle['releases properly']?.status).toBe('passed');

    const line = readFileSync(fixture, 'utf8').split('\n').findIndex((l) => l.includes('// LEAKED-HERE')) + 1;
    const failure = byTitle['forgets to release']!.failureMessages.join('\n');
    expect(failure).toContain('LeakError');
    expect(failure).toMatch(new RegExp(`leak\\.fixture\\.mjs:${line}:\\d+`));
    expect(output).toMatch(new RegExp(`leak\\.fixture\\.mjs:${line}`));
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transformSync } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { REPO, markerLine, re, runFixture, singleLeak } from '../../fixtures/support/run-fixture.js';

const FILE = 'test/fixtures/tsx-app/server.ts';

describe('TypeScript run by tsx', () => {
  it("a connection leaked in an anonymous request handler is reported at the .ts line, through tsx's source maps", () => {
    const line = markerLine(FILE);
    // the JavaScript that actually runs has the acquire elsewhere: only a source-mapped site names this line
    const js = transformSync(readFileSync(join(REPO, FILE), 'utf8'), { loader: 'ts', format: 'esm', target: 'node20' }).code;
    expect(js.split('\n').findIndex((l) => l.includes('pool.connect()')) + 1).not.toBe(line);

    const run = runFixture(['node_modules/tsx/dist/cli.mjs', FILE]);
    const leak = singleLeak(run);
    expect(leak.site ?? '(no site)', run.output).toMatch(new RegExp(`^${re(FILE)}:${line}:\\d+$`));
    expect(leak.stack?.split('\n')[0] ?? '(no stack)', run.output).toMatch(new RegExp(`${re(FILE)}:${line}:\\d+\\)$`));
    expect(run.output).toContain(`acquired at ${FILE}:${line}:`);
    expect(run.status, run.output).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import { markerLine, re, runFixture, singleLeak } from '../../fixtures/support/run-fixture.js';

const FILE = 'test/fixtures/cjs-script/acquire-at-top-level.cjs';

describe('a plain CommonJS script', () => {
  it('a connection taken at top level is reported at that line, whose frame reads Object.<anonymous>', () => {
    const run = runFixture([FILE]);
    const line = markerLine(FILE);
    const leak = singleLeak(run);
    expect(leak.site ?? '(no site)', run.output).toMatch(new RegExp(`^${re(FILE)}:${line}:\\d+$`));
    expect(leak.stack?.split('\n')[0] ?? '(no stack)', run.output).toMatch(new RegExp(`at Object\\.<anonymous> \\(.*${re(FILE)}:${line}:\\d+\\)$`));
    expect(run.output).toContain(`acquired at ${FILE}:${line}:`);
    expect(run.status, run.output).toBe(1);
  });
});

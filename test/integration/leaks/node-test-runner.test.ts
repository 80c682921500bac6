import { describe, expect, it } from 'vitest';
import { markerLine, re, runFixture, singleLeak } from '../../fixtures/support/run-fixture.js';

const FILE = 'test/fixtures/node-test-leak/leak.test.mjs';

describe('node:test (`node --test`)', () => {
  it("a leaked lease is reported at the test's own line, whose frame reads TestContext.<anonymous>", () => {
    const run = runFixture(['--test', '--test-reporter=spec', FILE]);
    const line = markerLine(FILE);
    const leak = singleLeak(run);
    expect(leak.site ?? '(no site)', run.output).toMatch(new RegExp(`^${re(FILE)}:${line}:\\d+$`));
    expect(leak.stack?.split('\n')[0] ?? '(no stack)', run.output).toMatch(new RegExp(`at TestContext\\.<anonymous> \\(file://.*${re(FILE)}:${line}:\\d+\\)$`));
    // what the user reads: the runner prints the LeakError, whose stack starts at the acquisition
    expect(run.output).toMatch(new RegExp(`${re(FILE)}:${line}:\\d+`));
    expect(run.status, run.output).toBe(1);
  });
});

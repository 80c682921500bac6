import { describe, expect, it } from 'vitest';
import { markerLine, re, runFixture, singleLeak } from '../../fixtures/support/run-fixture.js';

const FILE = 'test/fixtures/jest-cjs-leak/leak.test.cjs';

describe('Jest, CommonJS test file', () => {
  it("a leaked lease is reported at the test's own line", () => {
    const run = runFixture(['node_modules/jest/bin/jest.js', '--config', 'test/fixtures/jest-cjs-leak/jest.config.cjs', '--ci']);
    const line = markerLine(FILE);
    const leak = singleLeak(run);
    expect(leak.site ?? '(no site)', run.output).toMatch(new RegExp(`^${re(FILE)}:${line}:\\d+$`));
    expect(leak.stack?.split('\n')[0] ?? '(no stack)', run.output).toMatch(new RegExp(`${re(FILE)}:${line}:\\d+\\)$`));
    // Jest prints the LeakError's stack, which starts at the acquisition (paths relative to its rootDir)
    expect(run.output).toMatch(new RegExp(`leak\\.test\\.cjs:${line}:\\d+`));
    expect(run.status, run.output).toBe(1);
  });
});

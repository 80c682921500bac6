import { afterEach, describe, expect, it, vi } from 'vitest';
import { LogLimiter, type Logger } from '../../../src/core/logger.js';

describe('LogLimiter.write', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets a burst through per window and says in the next line how many it dropped', () => {
    vi.useFakeTimers({ toFake: ['performance'] });
    const lines: string[] = [];
    const logger: Logger = { error() {}, warn: (m: string) => void lines.push(m), info() {}, debug() {} };
    const limiter = new LogLimiter(2, 1000);
    for (let i = 1; i <= 5; i++) limiter.write(logger, 'warn', `connection #${i} failed`);
    expect(lines).toEqual(['connection #1 failed', 'connection #2 failed']);
    vi.advanceTimersByTime(1000);
    limiter.write(logger, 'warn', 'connection #6 failed');
    limiter.write(logger, 'warn', 'connection #7 failed');
    expect(lines.slice(2)).toEqual(['connection #6 failed (3 similar lines suppressed)', 'connection #7 failed']);
  });
});

import { describe, expect, it } from 'vitest';
import { Breaker } from '../../../src/core/breaker.js';

describe('Breaker', () => {
  it('opens after failureThreshold consecutive failures; a success in between resets the count', () => {
    const b = new Breaker(3, 1000);
    expect(b.failure(0, 'refused')).toBeUndefined();
    expect(b.failure(1, 'refused')).toBeUndefined();
    b.success();
    expect(b.failure(2, 'refused')).toBeUndefined();
    expect(b.failure(3, 'refused')).toBeUndefined();
    expect(b.failure(4, 'refused')).toMatchObject({ from: 'closed', to: 'open' });
    expect(b.state.kind).toBe('open');
    expect(b.isOpen(500)).toBe(true);
    expect(b.retryAfterMs(500)).toBe(504);
  });

  it('lets one probe through after resetTimeoutMs; success closes, failure reopens with a longer wait', () => {
    const b = new Breaker(1, 1000);
    b.failure(0, 'refused');
    expect(b.isOpen(999)).toBe(true);
    expect(b.isOpen(1000)).toMatchObject({ from: 'open', to: 'half-open' });
    expect(b.isOpen(1001)).toBe(false);
    expect(b.failure(1001, 'refused again')).toMatchObject({ from: 'half-open', to: 'open' });
    expect(b.retryAfterMs(1001)).toBe(2000);
    expect(b.isOpen(3001)).toMatchObject({ to: 'half-open' });
    expect(b.success()).toMatchObject({ from: 'half-open', to: 'closed' });
    expect(b.state).toMatchObject({ kind: 'closed', failures: 0 });
  });

  it('caps the reopen wait at 8 × resetTimeoutMs', () => {
    const b = new Breaker(1, 100);
    let now = 0;
    b.failure(now, 'x');
    for (let i = 0; i < 10; i++) {
      now += b.retryAfterMs(now);
      b.isOpen(now);
      b.failure(now, 'x');
    }
    expect(b.retryAfterMs(now)).toBe(800);
  });

  it('with openAfterMs, opens only once the failures have gone on that long: a short outage is ridden out', () => {
    const b = new Breaker(3, 1000, 1000);
    expect(b.failure(100, 'refused')).toBeUndefined();
    expect(b.failure(150, 'refused')).toBeUndefined();
    expect(b.failure(300, 'refused')).toBeUndefined(); // 3 failures, but over 200 ms only
    expect(b.failure(900, 'refused')).toBeUndefined();
    expect(b.success()).toBeUndefined(); // the server was back: the streak starts over
    expect(b.failure(2000, 'refused')).toBeUndefined();
    expect(b.failure(2500, 'refused')).toBeUndefined();
    expect(b.failure(2999, 'refused')).toBeUndefined();
    expect(b.failure(3000, 'refused')).toMatchObject({ from: 'closed', to: 'open', reason: expect.stringMatching(/4 consecutive failures to connect over 1000 ms/) });
  });
});

import { describe, expect, it } from 'vitest';
import { DURATION_BUCKETS_S, Histogram } from '../../../src/core/histogram.js';

describe('Histogram', () => {
  it('counts each value in the first bucket whose bound (le, inclusive) it does not exceed', () => {
    const h = new Histogram();
    for (const ms of [0, 0.1, 0.11, 1, 30, 59_999, 60_000, 60_001, 1e9]) h.record(ms);
    expect(h.count).toBe(9);
    expect(h.counts[0]).toBe(2); // 0 and exactly 0.1 ms (le 0.0001 s)
    expect(h.counts[1]).toBe(1); // 0.11 ms
    expect(h.counts[DURATION_BUCKETS_S.indexOf(0.001)]).toBe(1);
    expect(h.counts[DURATION_BUCKETS_S.indexOf(0.05)]).toBe(1); // 30 ms
    expect(h.counts[DURATION_BUCKETS_S.indexOf(60)]).toBe(2); // 59.999 s and exactly 60 s
    expect(h.counts[DURATION_BUCKETS_S.length]).toBe(2); // +Inf
    expect(h.maxMs).toBe(1e9);
    expect(h.sumMs).toBeCloseTo(0 + 0.1 + 0.11 + 1 + 30 + 59_999 + 60_000 + 60_001 + 1e9);
  });

  it('estimates percentiles from the buckets like histogram_quantile, never above the max', () => {
    const h = new Histogram();
    expect(h.summary()).toEqual({ p50: 0, p90: 0, p99: 0, max: 0, count: 0 });
    for (let i = 0; i < 100; i++) h.record(0);
    expect(h.summary()).toMatchObject({ p50: 0, p99: 0, max: 0, count: 100 });
    const g = new Histogram();
    for (let i = 1; i <= 100; i++) g.record(i); // 1..100 ms
    const s = g.summary();
    expect(s.max).toBe(100);
    expect(s.count).toBe(100);
    // within the bucket that holds the true value
    expect(s.p50).toBeGreaterThan(25);
    expect(s.p50).toBeLessThanOrEqual(50);
    expect(s.p90).toBeGreaterThan(50);
    expect(s.p90).toBeLessThanOrEqual(100);
    expect(s.p99).toBeLessThanOrEqual(100);
  });

  it('passes each value, in seconds, to a sink when one is set', () => {
    const h = new Histogram();
    const got: number[] = [];
    h.sink = (s) => got.push(s);
    h.record(250);
    h.sink = undefined;
    h.record(1);
    expect(got).toEqual([0.25]);
  });
});

/**
 * A fixed-bucket histogram of durations: recording is a bucket search and a few
 * additions into preallocated arrays (no allocation, no text), so the engine can
 * record every acquire; exporters read the counts when they are scraped.
 */
/**
 * Upper bounds (inclusive, Prometheus `le`) of the duration buckets, in seconds:
 * 100 µs to 60 s, then +Inf. The same for wait, use and create time, and given to
 * OpenTelemetry as the instruments' advised boundaries.
 */
export const DURATION_BUCKETS_S: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]);

const BOUNDS_MS = Float64Array.from(DURATION_BUCKETS_S, (s) => s * 1000);

/** Receives each recorded value, in seconds (an exporter that must record values one by one). */
export type RecordSink = (seconds: number) => void;

/** Cumulative since the pool opened: per-bucket counts, count, sum and max, in milliseconds. */
export class Histogram {
  /** Count per bucket (not cumulative); the last one is +Inf. */
  readonly counts = new Float64Array(BOUNDS_MS.length + 1);
  count = 0;
  sumMs = 0;
  maxMs = 0;
  /** @internal set by an exporter that needs every value (OpenTelemetry's synchronous histograms). */
  sink: RecordSink | undefined = undefined;

  record(ms: number): void {
    const bounds = BOUNDS_MS;
    let i = 0;
    while (i < bounds.length && ms > bounds[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
    if (this.sink !== undefined) this.sink(ms / 1000);
  }

  /**
   * p50, p90, p99 (ms) estimated from the buckets the way PromQL's
   * `histogram_quantile` does (linear within a bucket), capped at the exact max.
   */
  summary(): Percentiles {
    const n = this.count;
    if (n === 0) return { p50: 0, p90: 0, p99: 0, max: 0, count: 0 };
    return { p50: round(this.quantile(0.5)), p90: round(this.quantile(0.9)), p99: round(this.quantile(0.99)), max: round(this.maxMs), count: n };
  }

  /** The q-quantile in ms, estimated from the buckets. */
  quantile(q: number): number {
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c > 0 && seen + c >= rank) {
        const lower = i === 0 ? 0 : BOUNDS_MS[i - 1]!;
        const upper = i < BOUNDS_MS.length ? BOUNDS_MS[i]! : this.maxMs;
        return Math.min(this.maxMs, lower + (upper - lower) * ((rank - seen) / c));
      }
      seen += c;
    }
    return this.maxMs;
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** Percentiles of a duration histogram since the pool opened, ms (estimated from the buckets; `max` is exact). */
export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  /** How many values were recorded. */
  readonly count: number;
}

/** A fixed ring of the latest samples, for percentiles computed only when asked. */
export class Samples {
  readonly #ring: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size = 1024) {
    this.#ring = new Float64Array(size);
  }

  add(value: number): void {
    const ring = this.#ring;
    ring[this.#next] = value;
    if (++this.#next === ring.length) this.#next = 0;
    if (this.#count < ring.length) this.#count++;
  }

  /** p50, p90, p99 and max of the retained samples, in the samples' unit (0 when empty). */
  summary(): Percentiles {
    if (this.#count === 0) return { p50: 0, p90: 0, p99: 0, max: 0, count: 0 };
    const sorted = this.#ring.slice(0, this.#count).sort();
    const at = (q: number): number => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!);
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: round(sorted[sorted.length - 1]!), count: this.#count };
  }
}

/** Percentiles over the latest samples (up to 1,024). */
export interface Percentiles {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  /** How many samples the figures cover. */
  readonly count: number;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/**
 * The connection-limit ceiling: when the server refuses a connection at its limit
 * while the pool's others work, the pool's size is capped where it is (not an
 * outage), and a probe now and then tries for more room, raising or lifting the cap.
 */
import type { Engine } from './engine.js';
import { ceilingLiftedText, ceilingText } from './messages.js';

/** First wait before a probe may raise a connection-limit ceiling; doubles per refused probe. */
export const CEILING_PROBE_MS = 1000;
/** Longest wait between two ceiling probes. */
export const CEILING_PROBE_MAX_MS = 30_000;

export class Ceiling<C, F> {
  readonly #e: Engine<C, F>;
  /** Effective ceiling on pooled connections; undefined when none is in effect. */
  value: number | undefined = undefined;
  #refusals = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #probeDue = false;
  /** The next connection opened is a probe. */
  #probeNext = false;

  constructor(e: Engine<C, F>) {
    this.#e = e;
  }

  /** Connections the pool may still open: free budget permits, and no more than the ceiling allows. */
  openable(): number {
    const free = this.#e.budget.available;
    const c = this.value;
    return c === undefined ? free : Math.max(0, Math.min(free, c - this.#e.conns.total - this.#e.conns.creating));
  }

  /** `min`, capped by the ceiling. */
  cap(n: number): number {
    return Math.min(n, this.value ?? Infinity);
  }

  /** Room under the ceiling; lets one probe through when one is due. */
  below(): boolean {
    const c = this.value;
    const conns = this.#e.conns;
    if (c === undefined || conns.total + conns.creating < c) return true;
    if (this.#probeDue && conns.creating === 0) {
      this.#probeDue = false;
      this.#probeNext = true;
      return true;
    }
    return false;
  }

  /** True when the pool stands at the ceiling (waiters are served by the live connections). */
  get reached(): boolean {
    return this.value !== undefined && this.#e.conns.total + this.#e.conns.creating >= this.value;
  }

  /** Whether the connection being opened now is a probe (read once, by the open). */
  takeProbe(): boolean {
    const p = this.#probeNext;
    this.#probeNext = false;
    return p;
  }

  armProbe(): void {
    if (this.#timer !== undefined || this.#probeDue || this.#e.closing) return;
    const delay = Math.min(CEILING_PROBE_MAX_MS, CEILING_PROBE_MS * 2 ** Math.min(15, this.#refusals));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#probeDue = true;
      this.#e.supply.grow();
    }, delay);
    this.#timer.unref?.();
  }

  /**
   * The server refused a connection at its connection limit while the pool holds (or
   * is opening) others: cap the pool where it is.
   */
  reachedAt(error: Error, probe: boolean): void {
    const e = this.#e;
    const ceiling = e.conns.working() + e.conns.creating;
    if (probe) this.#refusals++;
    if (this.value === ceiling) return;
    const first = this.value === undefined;
    if (first) this.#refusals = 0;
    this.value = ceiling;
    this.#event(error.message);
    if (first) e.log('warn', ceilingText(e.name, error.message, ceiling, e.options.max));
  }

  /** A connection opened: above the ceiling, raise it, or lift it at max. */
  opened(): void {
    const e = this.#e;
    if (this.value === undefined || e.conns.total <= this.value) return;
    this.#refusals = 0;
    if (e.conns.total < e.options.max) {
      this.value = e.conns.total;
      this.#event(undefined);
      return;
    }
    this.value = undefined;
    this.stop();
    this.#event(undefined);
    e.log('info', ceilingLiftedText(e.name));
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #event(detail: string | undefined): void {
    const e = this.#e;
    if (e.events.active) e.emit({ type: 'ceiling', pool: e.name, driver: e.kind, time: Date.now(), ceiling: this.value, max: e.options.max, detail });
  }
}

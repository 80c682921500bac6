/**
 * The circuit breaker of one pool: a pure state machine over a clock the caller
 * passes in. Only failures to *open* a connection (and failed probes) are fed to it,
 * and only while no connection of the pool works: never query errors, never the
 * breaking of connections that were already open.
 */
import type { CircuitState } from './events.js';

/** Breaker settings. */
export interface CircuitBreakerOptions {
  /**
   * Consecutive connection failures that open the circuit.
   * @default 5
   */
  failureThreshold?: number;
  /**
   * How long the circuit stays open before one probe is let through; doubled after
   * each failed probe, up to 8 × this.
   * @default 10000
   */
  resetTimeoutMs?: number;
  /**
   * The circuit opens only once connecting has kept failing for at least this long
   * (and `failureThreshold` times in a row), so that a server restart, typically well
   * under a second, is ridden out by reconnecting instead of failing every call for
   * `resetTimeoutMs`. 0 opens on the threshold alone.
   * @default 1000
   */
  openAfterMs?: number;
}

export type BreakerState =
  | { readonly kind: 'closed'; readonly failures: number; /** When the first failure of the streak happened. */ readonly since: number }
  | { readonly kind: 'open'; readonly until: number; readonly opens: number; readonly reason: string }
  | { readonly kind: 'half-open'; readonly opens: number };

/** A state change, for the `circuit` event. */
export interface Transition {
  readonly from: CircuitState;
  readonly to: CircuitState;
  readonly reason: string;
}

export class Breaker {
  #state: BreakerState = { kind: 'closed', failures: 0, since: 0 };

  constructor(
    readonly failureThreshold: number,
    readonly resetTimeoutMs: number,
    readonly openAfterMs = 0,
  ) {}

  get state(): BreakerState {
    return this.#state;
  }

  /** Milliseconds until a probe is allowed (0 unless open). */
  retryAfterMs(now: number): number {
    const s = this.#state;
    return s.kind === 'open' ? Math.max(0, Math.ceil(s.until - now)) : 0;
  }

  /** True when calls must fail at once. Moves open -> half-open once the wait is over. */
  isOpen(now: number): Transition | boolean {
    const s = this.#state;
    if (s.kind !== 'open') return false;
    if (now < s.until) return true;
    this.#state = { kind: 'half-open', opens: s.opens };
    return { from: 'open', to: 'half-open', reason: 'reset timeout elapsed; one probe allowed' };
  }

  /** A connection was opened or a check succeeded. */
  success(): Transition | undefined {
    const s = this.#state;
    if (s.kind === 'closed') {
      if (s.failures !== 0) this.#state = { kind: 'closed', failures: 0, since: 0 };
      return undefined;
    }
    this.#state = { kind: 'closed', failures: 0, since: 0 };
    return { from: s.kind, to: 'closed', reason: 'probe succeeded' };
  }

  /** A connection-level failure. */
  failure(now: number, reason: string): Transition | undefined {
    const s = this.#state;
    switch (s.kind) {
      case 'closed': {
        const failures = s.failures + 1;
        const since = s.failures === 0 ? now : s.since;
        if (failures < this.failureThreshold || now - since < this.openAfterMs) {
          this.#state = { kind: 'closed', failures, since };
          return undefined;
        }
        this.#state = { kind: 'open', until: now + this.resetTimeoutMs, opens: 1, reason };
        return {
          from: 'closed',
          to: 'open',
          reason: `${failures} consecutive failures to connect over ${Math.round(now - since)} ms; last: ${reason}`,
        };
      }
      case 'half-open': {
        const opens = s.opens + 1;
        const wait = this.resetTimeoutMs * Math.min(8, 2 ** (opens - 1));
        this.#state = { kind: 'open', until: now + wait, opens, reason };
        return { from: 'half-open', to: 'open', reason: `probe failed: ${reason}` };
      }
      case 'open':
        return undefined;
    }
  }
}

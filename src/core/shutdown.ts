/**
 * Closing a pool: stop new acquires, reject or serve the queue, wait for leases
 * until the deadline (the earliest of several `close()` calls), force the rest back
 * and report them, then close every connection and cut what is still opening.
 */
import type { Engine } from './engine.js';
import { PoolClosedError } from './errors.js';
import type { LeaseInfo } from './events.js';
import { afterSites } from './leaks.js';
import { closeMeter } from './meter.js';
import { optionError } from './messages.js';
import { MAX_DURATION_MS } from './options.js';

/** How long `close()` waits for leases by default before forcing them. */
export const DEFAULT_CLOSE_TIMEOUT_MS = 10_000;
/** What `close()` gives opening and closing connections past its timeout before it cuts them. */
export const CLOSE_GRACE_MS = 100;

/** What `close()` had to force. */
export interface CloseResult {
  /** Leases still out when the timeout passed; their connections were closed. */
  readonly forced: readonly LeaseInfo[];
}

/** How `close()` ends a pool. */
export interface CloseOptions {
  /**
   * How long to wait for outstanding leases (and, with `serveWaiters`, queued callers)
   * before forcing them; `Infinity` waits as long as they take (pg.Pool's `end()`).
   * @default 10000
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Keep serving callers already waiting (opening connections for them if needed)
   * instead of rejecting them with `POOL_CLOSED`.
   * @default false
   */
  readonly serveWaiters?: boolean;
}

export class Shutdown<C, F> {
  readonly #e: Engine<C, F>;
  #force = false;
  #forceTimer: ReturnType<typeof setTimeout> | undefined;
  /** When `close()` forces what is still out (performance.now() clock); Infinity: not armed. */
  #forceAt = Infinity;
  /** close() has finished: a later call only returns its result. */
  #done = false;
  #promise: Promise<CloseResult> | undefined;
  #onDrained: (() => void) | undefined;

  constructor(e: Engine<C, F>) {
    this.#e = e;
  }

  /**
   * Stops new acquires (`POOL_CLOSED`), rejects waiters (unless `serveWaiters`), waits
   * up to `timeoutMs` (default 10 s; `Infinity`: as long as it takes) for leases to come
   * back, then forces the rest and closes every connection. A second call returns the
   * same promise; one with a finite `timeoutMs` after an unbounded first one bounds it.
   */
  close(opts?: CloseOptions): Promise<CloseResult> {
    const e = this.#e;
    const timeoutMs = opts?.timeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS;
    if (timeoutMs !== Infinity && (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_DURATION_MS)) {
      return Promise.reject(optionError(e.name, 'close', 'timeoutMs', `an integer from 0 to ${MAX_DURATION_MS} or Infinity`, timeoutMs));
    }
    if (this.#promise) {
      if (timeoutMs !== Infinity) this.#armForce(timeoutMs);
      return this.#promise;
    }
    e.closing = true;
    e.serveWaiters = opts?.serveWaiters === true;
    closeMeter(e.meter);
    e.leaks.stop();
    e.resilience.stop();
    e.idle.stop();
    e.supply.ceiling.stop();
    if (!e.serveWaiters) this.#stopWaiting();
    else e.handout.dispatch();
    for (const conn of e.idle.drain()) e.conns.destroy(conn, 'close', undefined);
    if (timeoutMs !== Infinity) this.#armForce(timeoutMs);
    this.#promise = this.#rest();
    return this.#promise;
  }

  /** While closing: wakes `close()` once nothing is out, waiting or being opened. */
  checkDrained(): void {
    const wake = this.#onDrained;
    if (wake === undefined) return;
    if (this.#force || this.#drained()) {
      this.#onDrained = undefined;
      wake();
    }
  }

  #drained(): boolean {
    const e = this.#e;
    return e.table.active === 0 && e.queue.size === 0 && (!e.serveWaiters || e.conns.creating === 0);
  }

  #stopWaiting(): void {
    const e = this.#e;
    e.supply.stop();
    e.queue.stop();
    e.queue.rejectAll(() => new PoolClosedError(e.name));
  }

  /** Forces outstanding leases back `timeoutMs` from now (the earliest of several calls wins). */
  #armForce(timeoutMs: number): void {
    const at = performance.now() + timeoutMs;
    if (this.#force || this.#done || at >= this.#forceAt) return;
    clearTimeout(this.#forceTimer);
    this.#forceAt = at;
    this.#forceTimer = setTimeout(() => {
      this.#force = true;
      this.checkDrained();
    }, timeoutMs);
  }

  async #rest(): Promise<CloseResult> {
    const e = this.#e;
    while (!this.#force && !this.#drained()) {
      await new Promise<void>((resolve) => {
        this.#onDrained = resolve;
        this.checkDrained();
      });
    }
    clearTimeout(this.#forceTimer);
    this.#onDrained = undefined;
    e.serveWaiters = false;
    this.#stopWaiting();
    const forced: LeaseInfo[] = [];
    const recs = e.conns.leaseRecords();
    await new Promise<void>((resolve) => afterSites(recs, resolve));
    for (const rec of recs) {
      if (rec.released) continue;
      forced.push(e.table.forceBack(rec, 'pool close (forced)', 'close', 'forced by close()', { leak: 'unreleased-at-close' }));
    }
    for (const conn of e.idle.drain()) e.conns.destroy(conn, 'close', undefined);
    // Connections being opened or closed get until the close deadline (with no deadline,
    // one connect timeout; at least a short grace), then their sockets are cut.
    const deadline = this.#forceAt === Infinity ? performance.now() + e.options.connectTimeoutMs : this.#forceAt;
    await e.conns.settle(Math.max(deadline, performance.now() + CLOSE_GRACE_MS));
    if (e.conns.busy) {
      e.driver.forceClose?.();
      await e.conns.settle(performance.now() + CLOSE_GRACE_MS);
    }
    this.#done = true;
    return { forced };
  }
}

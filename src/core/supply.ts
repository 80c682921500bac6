/**
 * Supply: decides when to open connections and what a failed open means. Grows the
 * pool for waiters, keeps `min`, backs off after failures (one attempt at a time,
 * full jitter, never longer than half the outage so far), spreads the refill after
 * recovery, waits for permits held elsewhere, and defers to the connection ceiling.
 */
import { fullJitter } from './backoff.js';
import { Ceiling } from './ceiling.js';
import type { Engine } from './engine.js';
import { toError } from './redact.js';

export class Supply<C, F> {
  readonly #e: Engine<C, F>;
  readonly ceiling: Ceiling<C, F>;
  /** Consecutive failed connection attempts; > 0 means back off, one attempt at a time. */
  attempt = 0;
  /** The last failure to open a connection, until one opens. */
  lastConnectError: unknown = undefined;
  /** Failed connection attempts since the pool opened. */
  connectFailures = 0;
  #retryAt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #refilling = false;
  /** When the current run of failed connection attempts began (performance.now()). */
  #downSince = 0;
  /** When the last failed connection attempt was seen: attempts started before it are the same event. */
  #failSeenAt = -Infinity;
  /** Waiting for a permit held by a dedicated connection. */
  #budgetWait: AbortController | undefined;

  constructor(e: Engine<C, F>) {
    this.#e = e;
    this.ceiling = new Ceiling(e);
  }

  /** Connections the pool may still open. */
  openable(): number {
    return this.ceiling.openable();
  }

  /** Opens connections for the waiters not yet covered, within the budget, the backoff and the ceiling. */
  grow(): void {
    const e = this.#e;
    const conns = e.conns;
    if (e.dropping) return;
    if (this.attempt > 0 || e.resilience.tripped) {
      // after a failure: one attempt at a time, after a full-jitter backoff, while callers wait or min asks for more
      if (conns.creating > 0 || (e.queue.size === 0 && (!e.behaviour.openMin || conns.total >= e.options.min))) return;
      const wait = this.#retryAt - performance.now();
      if (wait > 0) {
        if (this.#retryTimer === undefined) {
          this.#retryTimer = setTimeout(() => {
            this.#retryTimer = undefined;
            this.grow();
          }, wait);
          // referenced while callers wait for this retry; a refill of min alone keeps no process alive
          if (e.queue.size === 0) this.#retryTimer.unref?.();
        }
        return;
      }
      if (e.resilience.open) return;
      if (e.budget.tryTake('pooled')) conns.open();
      return;
    }
    let need = e.queue.size - conns.preparing;
    while (need > 0 && this.ceiling.below() && e.budget.tryTake('pooled')) {
      conns.open();
      need--;
    }
    if (need > 0 && this.ceiling.reached) {
      // at the server's connection limit: the waiters are served by the live connections
      this.ceiling.armProbe();
      return;
    }
    // permits held by dedicated connections: queue for the next one that frees up
    if (need > 0 && this.#budgetWait === undefined && e.budget.held.pooled < e.options.max) {
      const ctrl = (this.#budgetWait = new AbortController());
      void e.budget.take('pooled', ctrl.signal).then((ok) => {
        if (this.#budgetWait === ctrl) this.#budgetWait = undefined;
        if (!ok) return;
        if (e.closing || e.queue.size - conns.preparing <= 0) e.budget.give('pooled');
        else conns.open();
        this.grow();
      });
    }
  }

  /** Opens connections up to `min` (adapters that want it); after an outage, the spread refill does it. */
  ensureMin(): void {
    const e = this.#e;
    if (!e.behaviour.openMin || this.attempt > 0 || e.resilience.tripped || this.#refilling) return;
    while (!e.closing && e.conns.total + e.conns.creating < this.ceiling.cap(e.options.min) && e.budget.tryTake('pooled')) {
      e.conns.open();
    }
  }

  /**
   * After recovery, opens the connections `min` asks for one at a time with jittered
   * gaps, so that every pool of every process does not reconnect in the same instant.
   */
  refillSpread(): void {
    const e = this.#e;
    const conns = e.conns;
    if (!e.behaviour.openMin || e.closing || e.resilience.tripped || conns.total + conns.creating >= this.ceiling.cap(e.options.min)) {
      this.#refilling = false;
      return;
    }
    this.#refilling = true;
    const rc = e.options.reconnect;
    const timer = setTimeout(() => {
      // one at a time: not while another connection is being opened (for a waiter, say)
      if (!e.closing && !e.resilience.tripped && conns.creating === 0 && conns.total < this.ceiling.cap(e.options.min) && e.budget.tryTake('pooled')) {
        conns.open();
      }
      this.refillSpread();
    }, fullJitter(2, rc.baseMs, rc.maxMs));
    timer.unref?.();
  }

  /** A connection opened: connecting works, and the connection goes to a waiter or idle. */
  opened(raw: C, started: number): void {
    const e = this.#e;
    this.lastConnectError = undefined;
    this.attempt = 0;
    e.resilience.success();
    if (e.dropping) {
      e.conns.closeRaw(raw);
      e.shutdown.checkDrained();
      return;
    }
    const conn = e.conns.add(raw, started);
    this.ceiling.opened();
    e.conns.announce(conn, started);
    e.handout.give(conn);
  }

  /** A connection failed to open: a ceiling, a refused connect hook, or an outage to back off from. */
  openFailed(thrown: unknown, started: number, probe: boolean): void {
    const e = this.#e;
    const conns = e.conns;
    this.connectFailures++;
    const error = toError(thrown);
    e.budget.give('pooled');
    if (e.events.active) e.emit({ type: 'error', pool: e.name, driver: e.kind, time: Date.now(), error, connectionId: undefined });
    // the drivers know the values they threw (a hook's rejection need not be an Error)
    const limit = e.driver.isLimitError?.(thrown) === true;
    if (limit && conns.working() + conns.creating > 0) {
      // the server's connection limit, while other connections of the pool work: a ceiling, not an outage
      this.ceiling.reachedAt(error, probe);
    } else if (e.driver.isConnectFailure?.(thrown) === false) {
      // the server and network work (the application's connect hook failed): the caller
      // it was opened for gets that error; no backoff, nothing for the breaker
      this.#failOneWaiter(error);
      e.logError(`lifeguard: pool "${e.name}": a new connection was refused by its connect hook: ${error.message}`);
    } else {
      this.#outage(error, started, limit);
    }
    this.grow();
    if (e.closing) e.shutdown.checkDrained();
  }

  #outage(error: Error, started: number, limit: boolean): void {
    const e = this.#e;
    this.lastConnectError = error;
    e.logError(`lifeguard: pool "${e.name}": could not open a connection: ${error.message}`);
    const now = performance.now();
    // attempts already under way when the last failure was seen fail for the same reason: one event, not N
    const counted = started > this.#failSeenAt;
    this.#failSeenAt = now;
    // A pool that never connected (a wrong address, say), or refused at the connection limit, fails a
    // waiter per failure with that error instead of letting it hang. A pool that worked rides out an
    // outage: its waiters wait for the reconnect until the circuit opens or their timeout passes.
    if (e.conns.created === 0 || limit) this.#failOneWaiter(error);
    if (!counted) return;
    if (this.attempt === 0) this.#downSince = now;
    const attempt = ++this.attempt;
    const rc = e.options.reconnect;
    if (rc.maxAttempts > 0 && attempt >= rc.maxAttempts) {
      // given up for this outage: the waiters get the error, the next acquire starts over
      e.queue.rejectAll(() => error);
      this.attempt = 0;
    } else {
      // never longer than half the outage so far: a short one (a restart) is retried soon after it ends
      const delayMs = Math.min(fullJitter(attempt, rc.baseMs, rc.maxMs), Math.max(rc.baseMs, Math.round((now - this.#downSince) / 2)));
      this.#retryAt = now + delayMs;
      if (e.events.active) e.emit({ type: 'reconnect', pool: e.name, driver: e.kind, time: Date.now(), attempt, delayMs });
    }
    e.resilience.api.connectionFailure(error.message);
  }

  /** The oldest waiter beyond the connections on their way gets `error`. */
  #failOneWaiter(error: Error): void {
    const e = this.#e;
    if (e.queue.size > e.conns.preparing) e.queue.reject(e.queue.shift()!, error);
  }

  /**
   * ioredis `retryStrategy` for connections outside the pool: full-jitter backoff, a
   * `reconnect` event per attempt, `null` (give up) after `maxAttempts`.
   */
  retryStrategy(times: number): number | null {
    const e = this.#e;
    const rc = e.options.reconnect;
    if (rc.maxAttempts > 0 && times > rc.maxAttempts) return null;
    const delayMs = fullJitter(times, rc.baseMs, rc.maxMs);
    if (e.events.active) e.emit({ type: 'reconnect', pool: e.name, driver: e.kind, time: Date.now(), attempt: times, delayMs });
    return delayMs;
  }

  /** The half-open probe goes now, not after the backoff. */
  retryNow(): void {
    this.#retryAt = 0;
  }

  /** The circuit closed: connecting works again. */
  recovered(): void {
    this.attempt = 0;
  }

  /** Nobody waits: a retry for min alone keeps no process alive. */
  unrefRetry(): void {
    this.#retryTimer?.unref?.();
  }

  /** Stops retries and permit waits (close, unless `end()` still serves waiters). */
  stop(): void {
    clearTimeout(this.#retryTimer);
    this.#budgetWait?.abort();
  }
}

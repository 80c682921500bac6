/**
 * Callers waiting for a connection: the queue (FIFO, see waiters.ts), one settle
 * path for every way a wait ends (served, rejected, timed out, aborted), one
 * deadline timer for the whole queue, and one 'abort' listener per signal.
 */
import type { Scope } from './context.js';
import type { Engine } from './engine.js';
import type { Lease, LeaseRecord } from './lease.js';
import { type SiteSource, afterSites, holdersSummary } from './leaks.js';
import { queueFullError, timeoutError } from './messages.js';
import { type QueuedWaiter, WaiterQueue } from './waiters.js';

/** Timed-out acquires rejected per turn of the event loop; the rest follow in the next turns. */
const EXPIRE_BATCH = 256;

export interface Waiter<C, F> extends QueuedWaiter {
  settled: boolean;
  resolve: (lease: Lease<C, F>) => void;
  reject: (error: unknown) => void;
  readonly site: SiteSource | undefined;
  readonly tag: string | undefined;
  readonly scope: Scope | undefined;
  readonly track: boolean;
  readonly enqueuedAt: number;
  readonly timeoutMs: number;
  /** performance.now() time at which it times out. */
  readonly deadline: number;
  /** The lease of this pool the caller already holds (a nested acquire). */
  readonly nestedHeld: LeaseRecord<C> | undefined;
  signal: AbortSignal | undefined;
}

/** The waiters of one pool that share an `AbortSignal`: one 'abort' listener for all of them. */
interface SignalWaiters {
  readonly waiters: Set<object>;
  readonly onAbort: () => void;
}

export class AcquireQueue<C, F> {
  readonly #e: Engine<C, F>;
  readonly #q = new WaiterQueue<Waiter<C, F>>();
  readonly #signals = new Map<AbortSignal, SignalWaiters>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  /** A batch of timeouts is being expired; the next batch runs in the next turn. */
  #expiring = false;
  /** The `exhausted` event was emitted and nobody has stopped waiting since. */
  #exhausted = false;
  /** Acquires that timed out since the pool opened. */
  timeouts = 0;

  constructor(e: Engine<C, F>) {
    this.#e = e;
  }

  get size(): number {
    return this.#q.size;
  }

  /** Queues a caller; the promise settles when it is served, times out, aborts or the pool closes. */
  wait(
    timeoutMs: number,
    signal: AbortSignal | undefined,
    site: SiteSource | undefined,
    tag: string | undefined,
    scope: Scope | undefined,
    track: boolean,
    nested: LeaseRecord<C> | undefined,
  ): Promise<Lease<C, F>> {
    const e = this.#e;
    const conns = e.conns;
    // callers beyond maxWaiting (not counting those a connection is on its way for) are refused at once
    if (this.#q.size >= e.options.maxWaiting + e.supply.openable() + conns.preparing) {
      return Promise.reject(queueFullError(e.name, e.options, e.table.active, e.idle.size, this.#q.size));
    }
    return new Promise<Lease<C, F>>((resolve, reject) => {
      const now = performance.now();
      const w: Waiter<C, F> = {
        settled: false,
        resolve,
        reject,
        site,
        tag,
        scope,
        track,
        enqueuedAt: now,
        timeoutMs,
        deadline: now + timeoutMs,
        nestedHeld: nested,
        signal,
        // links of the waiter queue, present from the start so every waiter has one shape
        prev: undefined,
        next: undefined,
        tPrev: undefined,
        tNext: undefined,
      };
      this.#arm(w.deadline);
      if (signal !== undefined) this.#watch(w, signal);
      this.#q.push(w);
      e.handout.dispatch();
      // exhausted: every connection is in use and none is on its way
      if (!w.settled && !this.#exhausted && e.idle.size === 0 && e.supply.openable() === 0 && conns.preparing === 0) {
        this.#exhausted = true;
        if (e.events.active) {
          e.emit({ type: 'exhausted', pool: e.name, driver: e.kind, time: Date.now(), waiting: this.#q.size, max: e.options.max });
        }
      }
    });
  }

  /** Takes the oldest waiter out of the queue (to serve or reject it). */
  shift(): Waiter<C, F> | undefined {
    return this.#q.shift();
  }

  /** Serves a waiter taken out of the queue. */
  resolve(w: Waiter<C, F>, lease: Lease<C, F>): void {
    this.#settle(w);
    w.resolve(lease);
  }

  /** Rejects a waiter taken out of the queue. */
  reject(w: Waiter<C, F>, err: unknown): void {
    this.#settle(w);
    w.reject(err);
  }

  /** Rejects every waiter (the circuit opened, connecting gave up, the pool closed); `err` per waiter. */
  rejectAll(err: () => unknown): void {
    for (let w = this.#q.shift(); w !== undefined; w = this.#q.shift()) {
      w.settled = true;
      if (w.signal !== undefined) this.#unwatch(w);
      w.reject(err());
    }
    this.#gone();
  }

  /** Every way a wait ends goes through here. */
  #settle(w: Waiter<C, F>): void {
    w.settled = true;
    if (w.signal !== undefined) this.#unwatch(w);
    this.#gone();
  }

  /** A waiter left: with nobody waiting, no timer may keep an idle process alive. */
  #gone(): void {
    if (this.#q.size > 0) return;
    this.#exhausted = false;
    this.#timer?.unref?.();
    this.#e.supply.unrefRetry();
    if (this.#e.closing) this.#e.shutdown.checkDrained();
  }

  /** Stops the deadline timer (close). */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
  }

  /**
   * One timer per pool, armed for the earliest waiter deadline, instead of a timer
   * per waiter: waiters mostly share one timeout, so a new one rarely re-arms it.
   */
  #arm(deadline: number): void {
    if (this.#expiring) return;
    if (this.#timer !== undefined && this.#timerAt <= deadline) {
      // referenced while anyone waits: a caller waiting for a connection keeps the process alive
      this.#timer.ref?.();
      return;
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = deadline;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, deadline - performance.now()));
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#expiring = false;
    // also while closing: end() keeps serving queued callers, whose deadlines still hold
    if (this.#q.size === 0) return;
    // a timer may fire a little early: count anything within 1 ms as due
    const due = this.#q.takeDue(performance.now() + 1, EXPIRE_BATCH);
    if (due.length > 0) this.#expire(due);
    if (due.length === EXPIRE_BATCH) {
      // more may be due: let I/O and other timers run between batches
      this.#expiring = true;
      setImmediate(() => this.#onTimer());
      return;
    }
    const next = this.#q.nextDeadline();
    if (next !== Infinity) this.#arm(next);
  }

  /** One 'abort' listener per signal, however many waiting acquires share it. */
  #watch(w: Waiter<C, F>, signal: AbortSignal): void {
    let entry = this.#signals.get(signal);
    if (entry === undefined) {
      const waiters = new Set<object>();
      const onAbort = (): void => {
        this.#signals.delete(signal);
        for (const x of waiters as Set<Waiter<C, F>>) {
          if (x.settled) continue;
          this.#q.cancel(x);
          x.signal = undefined;
          x.reject(signal.reason);
        }
        waiters.clear();
        this.#gone();
      };
      entry = { waiters, onAbort };
      this.#signals.set(signal, entry);
      signal.addEventListener('abort', onAbort, { once: true });
    }
    entry.waiters.add(w);
  }

  #unwatch(w: Waiter<C, F>): void {
    const signal = w.signal;
    if (signal === undefined) return;
    w.signal = undefined;
    const entry = this.#signals.get(signal);
    if (entry === undefined) return;
    entry.waiters.delete(w);
    if (entry.waiters.size === 0) {
      signal.removeEventListener('abort', entry.onAbort);
      this.#signals.delete(signal);
    }
  }

  /**
   * Rejects a batch of timed-out waiters (already out of the queue). The holders are
   * listed once per batch, not once per waiter: the text is the same for all of them.
   */
  #expire(due: readonly Waiter<C, F>[]): void {
    const e = this.#e;
    const now = performance.now();
    const recs = e.conns.leaseRecords();
    const failing = e.supply.lastConnectError !== undefined && e.conns.total < e.options.max;
    const waits: { w: Waiter<C, F>; waitedMs: number; snapshot: { active: number; idle: number; waiting: number; max: number } }[] = [];
    let holders: LeaseRecord<C>[] = recs;
    const active = e.table.active;
    const idle = e.idle.size;
    for (let i = 0; i < due.length; i++) {
      const w = due[i]!;
      if (w.signal !== undefined) this.#unwatch(w);
      this.timeouts++;
      const waitedMs = Math.round(now - w.enqueuedAt);
      const waiting = this.#q.size + due.length - i;
      waits.push({ w, waitedMs, snapshot: { active, idle, waiting, max: e.options.max } });
      if (w.nestedHeld !== undefined && !recs.includes(w.nestedHeld)) holders = [...holders, w.nestedHeld];
      if (e.events.active) {
        e.emit({ type: 'acquire-timeout', pool: e.name, driver: e.kind, time: Date.now(), waitedMs, active, idle, waiting, tag: w.tag });
      }
    }
    this.#gone();
    // the holders' sites first (scoped calls capture theirs a microtask later), then the errors
    afterSites(holders, () => {
      const infos = e.table.infos(recs);
      if (infos.some((i) => i.noSite === 'not-sampled')) e.leaks.escalate();
      const summary = holdersSummary(infos);
      // built from a timer, the stack would name only lifeguard and Node's timers, and
      // capturing it is most of an error's cost: the message is the report
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        for (const { w, waitedMs, snapshot } of waits) {
          const err = timeoutError(e, w.timeoutMs, w.nestedHeld, waitedMs, summary, snapshot, failing);
          e.logError(err.message); // rate-limited: a burst of timeouts is a few lines
          w.reject(err);
        }
      } finally {
        Error.stackTraceLimit = limit;
      }
    });
  }
}

/**
 * Waiting acquires: a FIFO (who is served next) threaded through the waiter records
 * themselves, and per-timeout lists (who times out next). Push, shift and cancel are
 * O(1) and allocate nothing; a waiter that times out or aborts is unlinked at once,
 * so nothing of it stays behind (no tombstones, no rescans).
 *
 * Waiters that share a timeout are in deadline order in their list (the clock only
 * goes forward), so expiring is "pop the heads that are due", whatever the number
 * of waiters.
 */
export interface QueuedWaiter {
  /** Set once the waiter is served, timed out or aborted. */
  settled: boolean;
  /** performance.now() time at which it times out. */
  readonly deadline: number;
  /** Its timeout; waiters are grouped by it. */
  readonly timeoutMs: number;
  /** @internal FIFO links. */
  prev?: QueuedWaiter | undefined;
  next?: QueuedWaiter | undefined;
  /** @internal links within its timeout group. */
  tPrev?: QueuedWaiter | undefined;
  tNext?: QueuedWaiter | undefined;
}

interface Group {
  head: QueuedWaiter | undefined;
  tail: QueuedWaiter | undefined;
}

export class WaiterQueue<W extends QueuedWaiter> {
  #head: QueuedWaiter | undefined = undefined;
  #tail: QueuedWaiter | undefined = undefined;
  #size = 0;
  /** Timeout -> its waiters, oldest first. Usually one entry (the pool's acquireTimeoutMs). */
  readonly #groups = new Map<number, Group>();

  /** Waiters still waiting. */
  get size(): number {
    return this.#size;
  }

  push(w: W): void {
    w.prev = this.#tail;
    w.next = undefined;
    if (this.#tail === undefined) this.#head = w;
    else this.#tail.next = w;
    this.#tail = w;
    let g = this.#groups.get(w.timeoutMs);
    if (g === undefined) this.#groups.set(w.timeoutMs, (g = { head: undefined, tail: undefined }));
    w.tPrev = g.tail;
    w.tNext = undefined;
    if (g.tail === undefined) g.head = w;
    else g.tail.tNext = w;
    g.tail = w;
    this.#size++;
  }

  /** Removes and returns the oldest waiter. */
  shift(): W | undefined {
    const w = this.#head as W | undefined;
    if (w !== undefined) this.#unlink(w);
    return w;
  }

  /** Marks a waiter settled and removes it (timeout, abort); a no-op when already settled. */
  cancel(w: W): void {
    if (w.settled) return;
    w.settled = true;
    this.#unlink(w);
  }

  /**
   * Cancels and returns up to `limit` waiters whose deadline is at or before `now`,
   * earliest group heads first.
   */
  takeDue(now: number, limit: number): W[] {
    const out: W[] = [];
    for (const g of this.#groups.values()) {
      while (out.length < limit && g.head !== undefined && g.head.deadline <= now) {
        const w = g.head as W;
        this.cancel(w);
        out.push(w);
      }
      if (out.length >= limit) break;
    }
    return out;
  }

  /** The earliest deadline of a waiting acquire, or Infinity. */
  nextDeadline(): number {
    let next = Infinity;
    for (const g of this.#groups.values()) if (g.head !== undefined && g.head.deadline < next) next = g.head.deadline;
    return next;
  }

  /** Removes every waiter, oldest first. */
  drain(): W[] {
    const out: W[] = [];
    for (let w = this.shift(); w !== undefined; w = this.shift()) out.push(w);
    return out;
  }

  #unlink(w: QueuedWaiter): void {
    if (w.prev === undefined) {
      if (this.#head !== w) return; // not queued
      this.#head = w.next;
    } else {
      w.prev.next = w.next;
    }
    if (w.next === undefined) this.#tail = w.prev;
    else w.next.prev = w.prev;
    const g = this.#groups.get(w.timeoutMs)!;
    if (w.tPrev === undefined) g.head = w.tNext;
    else w.tPrev.tNext = w.tNext;
    if (w.tNext === undefined) g.tail = w.tPrev;
    else w.tNext.tPrev = w.tPrev;
    if (g.head === undefined) this.#groups.delete(w.timeoutMs);
    w.prev = w.next = w.tPrev = w.tNext = undefined;
    this.#size--;
  }
}

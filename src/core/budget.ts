/**
 * A pool's connection budget: a counting semaphore that every physical connection
 * (pooled, shared, dedicated, listener, subscriber) holds while open. Waiters form a
 * first-in, first-out list threaded through their records: an aborted take is
 * unlinked at once, and a permit given back goes straight to the oldest waiter.
 */

/** What holds budget permits. */
export type BudgetKind = 'pooled' | 'shared' | 'dedicated' | 'listener' | 'subscriber';

/** One take() still waiting. */
interface Waiter {
  readonly kind: BudgetKind;
  readonly resolve: (ok: boolean) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
  prev: Waiter | undefined;
  next: Waiter | undefined;
}

export class Budget {
  readonly max: number;
  readonly #held: Record<BudgetKind, number> = { pooled: 0, shared: 0, dedicated: 0, listener: 0, subscriber: 0 };
  /** Permits free now; above 0 only while nobody waits. */
  #free: number;
  #head: Waiter | undefined = undefined;
  #tail: Waiter | undefined = undefined;
  #waitingNonPooled = 0;

  constructor(max: number) {
    this.max = max;
    this.#free = max;
  }

  /** Permits free now. */
  get available(): number {
    return this.#free;
  }

  /** Permits held, by kind. */
  get held(): Readonly<Record<BudgetKind, number>> {
    return this.#held;
  }

  /** Callers of take() for anything but pooled connections, still waiting. */
  get waitingNonPooled(): number {
    return this.#waitingNonPooled;
  }

  /** Takes a permit if one is free right now and nobody queues for one. */
  tryTake(kind: BudgetKind): boolean {
    if (this.#free <= 0 || this.#head !== undefined) return false;
    this.#free--;
    this.#held[kind]++;
    return true;
  }

  /**
   * Waits for a permit. Resolves true once held, false when `signal` aborted first
   * (the waiter leaves the queue at once; a permit given back later goes to the next).
   */
  take(kind: BudgetKind, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.tryTake(kind)) return Promise.resolve(true);
    if (kind !== 'pooled') this.#waitingNonPooled++;
    return new Promise<boolean>((resolve) => {
      const w: Waiter = {
        kind,
        resolve,
        signal,
        onAbort: () => {
          this.#unlink(w);
          resolve(false);
        },
        prev: this.#tail,
        next: undefined,
      };
      if (this.#tail === undefined) this.#head = w;
      else this.#tail.next = w;
      this.#tail = w;
      signal.addEventListener('abort', w.onAbort, { once: true });
    });
  }

  // The two plain Errors below are internal invariants: the engine moved or returned a
  // permit it never took. That is a bug in lifeguard, not a user error, so they carry
  // no LifeguardError code on purpose; no option or call of the user can trigger them.

  /** Counts a held permit under another kind (a pooled lease that became a listener). */
  move(from: BudgetKind, to: BudgetKind): void {
    if (this.#held[from] <= 0) throw new Error(`lifeguard: budget moved a ${from} permit it did not hold`);
    this.#held[from]--;
    this.#held[to]++;
  }

  /** Returns a permit taken for `kind`: to the oldest waiter, or to the free ones. */
  give(kind: BudgetKind): void {
    if (this.#held[kind] <= 0) throw new Error(`lifeguard: budget released a ${kind} permit it did not hold`);
    this.#held[kind]--;
    const w = this.#head;
    if (w === undefined) {
      this.#free++;
      return;
    }
    this.#unlink(w);
    w.signal.removeEventListener('abort', w.onAbort);
    this.#held[w.kind]++;
    w.resolve(true);
  }

  /** Takes a waiter out of the queue (given a permit, or aborted). */
  #unlink(w: Waiter): void {
    if (w.prev === undefined) this.#head = w.next;
    else w.prev.next = w.next;
    if (w.next === undefined) this.#tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = w.next = undefined;
    if (w.kind !== 'pooled') this.#waitingNonPooled--;
  }
}

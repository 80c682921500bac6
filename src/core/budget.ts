/**
 * A pool's connection budget: one async-mutex Semaphore that every physical
 * connection (pooled, shared, dedicated, listener, subscriber) holds while open.
 */
import { Semaphore } from 'async-mutex';

/** What holds budget permits. */
export type BudgetKind = 'pooled' | 'shared' | 'dedicated' | 'listener' | 'subscriber';

export class Budget {
  readonly max: number;
  readonly #sem: Semaphore;
  readonly #held: Record<BudgetKind, number> = { pooled: 0, shared: 0, dedicated: 0, listener: 0, subscriber: 0 };
  #waitingNonPooled = 0;

  constructor(max: number) {
    this.max = max;
    this.#sem = new Semaphore(max);
  }

  /** Permits free now. */
  get available(): number {
    return Math.max(0, this.#sem.getValue());
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
    if (this.#sem.getValue() <= 0) return false;
    // the semaphore dispatches synchronously when a permit is free
    void this.#sem.acquire();
    this.#held[kind]++;
    return true;
  }

  /**
   * Waits for a permit. Resolves true once held, false when `signal` aborted first
   * (a permit that arrives later is handed straight back).
   */
  take(kind: BudgetKind, signal: AbortSignal): Promise<boolean> {
    if (signal.aborted) return Promise.resolve(false);
    if (this.tryTake(kind)) return Promise.resolve(true);
    const counted = kind !== 'pooled';
    if (counted) this.#waitingNonPooled++;
    return new Promise<boolean>((resolve) => {
      let done = false;
      const onAbort = (): void => {
        if (done) return;
        done = true;
        if (counted) this.#waitingNonPooled--;
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#sem.acquire().then(
        () => {
          signal.removeEventListener('abort', onAbort);
          if (done) {
            this.#sem.release();
            return;
          }
          done = true;
          if (counted) this.#waitingNonPooled--;
          this.#held[kind]++;
          resolve(true);
        },
        () => onAbort(),
      );
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

  /** Returns a permit taken for `kind`. */
  give(kind: BudgetKind): void {
    if (this.#held[kind] <= 0) throw new Error(`lifeguard: budget released a ${kind} permit it did not hold`);
    this.#held[kind]--;
    this.#sem.release();
  }
}

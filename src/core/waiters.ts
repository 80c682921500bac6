/**
 * FIFO of waiting acquires: O(1) push and shift, O(1) cancel by tombstone.
 */
export interface Cancellable {
  /** Set once the waiter is served, timed out or aborted. */
  settled: boolean;
}

export class WaiterQueue<W extends Cancellable> {
  #items: (W | undefined)[] = [];
  #head = 0;
  #live = 0;

  /** Waiters still waiting. */
  get size(): number {
    return this.#live;
  }

  push(w: W): void {
    this.#items.push(w);
    this.#live++;
  }

  /** Removes and returns the oldest live waiter. */
  shift(): W | undefined {
    const items = this.#items;
    while (this.#head < items.length) {
      const w = items[this.#head];
      items[this.#head++] = undefined;
      if (w !== undefined && !w.settled) {
        this.#live--;
        this.#compact();
        return w;
      }
    }
    this.#compact();
    return undefined;
  }

  /** Marks a waiter settled and forgets it; its slot is skipped later. */
  cancel(w: W): void {
    if (w.settled) return;
    w.settled = true;
    this.#live--;
  }

  /** Calls `fn` on every live waiter, oldest first (it may cancel them). */
  forEach(fn: (w: W) => void): void {
    const items = this.#items;
    for (let i = this.#head; i < items.length; i++) {
      const w = items[i];
      if (w !== undefined && !w.settled) fn(w);
    }
  }

  /** Removes every live waiter, oldest first. */
  drain(): W[] {
    const out: W[] = [];
    for (let w = this.shift(); w !== undefined; w = this.shift()) out.push(w);
    return out;
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }
}

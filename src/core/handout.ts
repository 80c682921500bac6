/**
 * Hand-out: where a free connection goes. The oldest waiter first, else a permit
 * waited for elsewhere (the connection is closed to free it), else the idle set;
 * and serving the queue from idle connections before the supply opens more.
 */
import type { Engine } from './engine.js';
import type { Conn } from './lease.js';
import type { Waiter } from './queue.js';

export class Handout<C, F> {
  readonly #e: Engine<C, F>;

  constructor(e: Engine<C, F>) {
    this.#e = e;
  }

  /** Serves waiters from idle connections, then opens connections for the rest. */
  dispatch(): void {
    const e = this.#e;
    const queue = e.queue;
    if (queue.size > 0 && e.idle.size > 0) {
      const now = performance.now();
      while (queue.size > 0) {
        const conn = e.idle.take(now);
        if (conn === undefined) break;
        this.#grant(queue.shift()!, conn, now);
      }
    }
    e.supply.grow();
  }

  /** A free connection goes to the oldest waiter, else back to idle. */
  give(conn: Conn<C>, now?: number): void {
    const e = this.#e;
    if (e.dropping) {
      e.conns.destroy(conn, 'close', undefined);
      return;
    }
    const w = e.queue.shift();
    if (w !== undefined) {
      this.#grant(w, conn, now ?? performance.now());
    } else if (e.budget.waitingNonPooled > 0) {
      // a subscriber, listener or dedicated connection waits for a permit: make room
      e.conns.destroy(conn, 'budget', undefined);
    } else {
      e.idle.push(conn, now ?? performance.now());
    }
  }

  #grant(w: Waiter<C, F>, conn: Conn<C>, now: number): void {
    const lease = this.#e.table.open(conn, w.site, w.tag, now, now - w.enqueuedAt, w.scope, w.track);
    this.#e.queue.resolve(w, lease);
  }
}

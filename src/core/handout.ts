/**
 * Hand-out: where a free connection goes. The oldest waiter first, else a permit
 * waited for elsewhere (the connection is closed to free it), else the idle set;
 * and serving the queue from idle connections before the supply opens more.
 */
import type { Engine } from './engine.js';
import type { Conn } from './lease.js';
import type { Waiter } from './queue.js';
import { describeValue } from './redact.js';

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

  /**
   * Where a released connection goes: closed when the release failed it, it broke, it
   * was closed under its holder, or its lifetime or uses are over; reset when dirty;
   * else handed on.
   */
  returned(conn: Conn<C>, error: unknown, reset: string | undefined, now: number): void {
    const e = this.#e;
    const conns = e.conns;
    if (error !== undefined) conns.destroy(conn, 'released-with-error', error === true ? undefined : describeValue(error));
    else if (conn.broken !== undefined) conns.destroy(conn, 'error', conn.broken);
    else if (reset !== undefined) {
      // closed under the holder (a FATAL, a dead socket) or by the user: nothing to reset, out of the pool now
      if (reset.startsWith('connection') || e.driver.isClosed?.(conn.raw) === true) conns.destroy(conn, 'error', reset);
      else conns.reset(conn, reset);
    } else if (conn.expiresAt <= now) conns.destroy(conn, 'lifetime', undefined);
    else if (e.options.maxUses > 0 && conn.uses >= e.options.maxUses) conns.destroy(conn, 'max-uses', undefined);
    else this.give(conn, now);
  }

  #grant(w: Waiter<C, F>, conn: Conn<C>, now: number): void {
    const lease = this.#e.table.open(conn, w.site, w.tag, now, now - w.enqueuedAt, w.scope, w.track);
    this.#e.queue.resolve(w, lease);
  }
}

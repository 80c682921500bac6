/**
 * The idle set: free pooled connections, oldest first, and their eviction. Taking
 * one pops the most recently used (warm) connection; the oldest ones time out above
 * `min`, on one timer armed for the oldest.
 */
import type { Conn } from './lease.js';
import type { Engine } from './engine.js';

/** A connection idle longer than this is checked before it is handed out. */
export const VALIDATE_AFTER_IDLE_MS = 1000;

export class IdleSet<C, F> {
  readonly #e: Engine<C, F>;
  /** Oldest first (by `idleSince`). */
  readonly #list: Conn<C>[] = [];
  /** One timer for idle eviction, armed for the oldest idle connection. */
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(e: Engine<C, F>) {
    this.#e = e;
  }

  get size(): number {
    return this.#list.length;
  }

  /**
   * Pops a usable connection; broken, expired or long-idle ones are routed away
   * (closed, or checked and handed out when the check passes).
   */
  take(now: number): Conn<C> | undefined {
    const list = this.#list;
    const conns = this.#e.conns;
    while (list.length > 0) {
      const conn = list.pop()!;
      if (conn.broken !== undefined) conns.destroy(conn, 'error', conn.broken);
      else if (conn.expiresAt <= now) conns.destroy(conn, 'lifetime', undefined);
      else if (now - conn.idleSince > VALIDATE_AFTER_IDLE_MS) conns.validate(conn);
      else return conn;
    }
    return undefined;
  }

  /** Pops the most recently used connection as it is (the health check and half-open probe check it). */
  pop(): Conn<C> | undefined {
    return this.#list.pop();
  }

  /** Takes the oldest connection out (to close it for a permit). */
  shift(): Conn<C> | undefined {
    return this.#list.shift();
  }

  /** A free connection, idle from `now`. */
  push(conn: Conn<C>, now: number): void {
    conn.idleSince = now;
    this.#list.push(conn);
    if (this.#timer === undefined) this.arm();
  }

  /** Puts a checked connection back where its idle clock says. */
  putBack(conn: Conn<C>): void {
    const list = this.#list;
    let i = list.length;
    while (i > 0 && list[i - 1]!.idleSince > conn.idleSince) i--;
    list.splice(i, 0, conn);
    this.arm();
  }

  /** Takes `conn` out; false when it is not idle. */
  remove(conn: Conn<C>): boolean {
    const i = this.#list.indexOf(conn);
    if (i === -1) return false;
    this.#list.splice(i, 1);
    return true;
  }

  /** Empties the set (close), oldest first. */
  drain(): Conn<C>[] {
    return this.#list.splice(0);
  }

  /**
   * Arms the eviction timer for the oldest connection, when connections above `min`
   * can time out. Unreferenced: an idle connection's own socket decides whether the
   * process stays alive (pg.Pool's `allowExitOnIdle`), and closing it lets it exit.
   */
  arm(): void {
    const { idleTimeoutMs, min } = this.#e.options;
    if (idleTimeoutMs <= 0 || this.#timer !== undefined || this.#list.length === 0 || this.#e.conns.total <= min) return;
    const due = this.#list[0]!.idleSince + idleTimeoutMs - performance.now();
    this.#timer = setTimeout(() => this.#evict(), Math.max(0, due));
    this.#timer.unref?.();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #evict(): void {
    this.#timer = undefined;
    const { idleTimeoutMs, min } = this.#e.options;
    const conns = this.#e.conns;
    // a timer may fire a little early: count anything within 1 ms as due
    const now = performance.now() + 1;
    const list = this.#list;
    while (list.length > 0 && conns.total > min && now - list[0]!.idleSince >= idleTimeoutMs) {
      conns.destroy(list.shift()!, 'idle', undefined);
    }
    this.arm();
  }
}

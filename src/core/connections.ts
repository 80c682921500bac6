/**
 * Connection lifecycle: open, check, reset and close pooled connections through the
 * driver, count them, end them at their lifetime, notice when one breaks, and keep
 * the work in flight so `close()` can wait for it. What to do with the outcome
 * (hand it out, back off) is the supply's and the hand-out's job.
 */
import type { DestroyReason } from './events.js';
import type { Engine } from './engine.js';
import { Conn, type LeaseRecord } from './lease.js';

const DESTROY_REASONS: readonly DestroyReason[] = [
  'error',
  'validation-failed',
  'released-with-error',
  'dirty',
  'idle',
  'lifetime',
  'max-uses',
  'lost',
  'budget',
  'close',
];

export class Connections<C, F> {
  readonly #e: Engine<C, F>;
  /** Every pooled connection open (idle, leased, being checked or reset). */
  readonly all = new Set<Conn<C>>();
  /** Connections being opened. */
  creating = 0;
  validating = 0;
  resetting = 0;
  /** Connections opened since the pool opened. */
  created = 0;
  readonly destroyed = Object.fromEntries(DESTROY_REASONS.map((r) => [r, 0])) as Record<DestroyReason, number>;
  #seq = 0;
  readonly #lifetimeTimers = new Map<Conn<C>, ReturnType<typeof setTimeout>>();
  readonly #inflight = new Set<Promise<unknown>>();

  constructor(e: Engine<C, F>) {
    this.#e = e;
  }

  get total(): number {
    return this.all.size;
  }

  /** Connections on their way to being free: opened, checked or reset now. */
  get preparing(): number {
    return this.creating + this.validating + this.resetting;
  }

  /** Pooled connections open and not known to be broken. */
  working(): number {
    let n = 0;
    for (const conn of this.all) if (conn.broken === undefined) n++;
    return n;
  }

  /** Opens a connection (its budget permit is already taken); the supply handles the outcome. */
  open(): void {
    const e = this.#e;
    this.creating++;
    const started = performance.now();
    const probe = e.supply.ceiling.takeProbe();
    const p = e.driver.create().then(
      (raw) => {
        this.creating--;
        e.supply.opened(raw, started);
      },
      (thrown: unknown) => {
        this.creating--;
        e.supply.openFailed(thrown, started, probe);
      },
    );
    this.track(p);
  }

  /** Makes a pooled connection of a just-opened one: counted, lifetime timer armed. */
  add(raw: C, started: number): Conn<C> {
    const now = performance.now();
    const life = this.#e.options.maxLifetimeMs;
    const conn = new Conn<C>(++this.#seq, raw, now, life > 0 ? now + life - Math.random() * life * 0.1 : Infinity);
    this.all.add(conn);
    if (life > 0) {
      const timer = setTimeout(() => this.#onLifetime(conn), conn.expiresAt - now);
      timer.unref?.();
      this.#lifetimeTimers.set(conn, timer);
    }
    this.created++;
    this.#e.meter.create.record(now - started);
    return conn;
  }

  /** Watches a new connection for breaking and `LISTEN`, and announces it. */
  announce(conn: Conn<C>, started: number): void {
    const e = this.#e;
    e.driver.watch(conn.raw, (err) => this.#onBroken(conn, err), () => this.#onListen(conn));
    e.hooks.onConnect?.(conn.raw);
    if (e.events.active) {
      e.emit({ type: 'connect', pool: e.name, driver: e.kind, time: Date.now(), connectionId: conn.id, durationMs: conn.createdAt - started });
    }
  }

  /** Closes a connection opened after `close()` ran, never made a pooled one. */
  closeRaw(raw: C): void {
    this.track(this.#e.driver.destroy(raw).then(() => this.#e.budget.give('pooled')));
  }

  /** Checks a connection idle too long (or the half-open probe's); a good one is handed out. */
  validate(conn: Conn<C>): void {
    const e = this.#e;
    this.validating++;
    const p = e.driver
      .validate(conn.raw)
      .then(
        (ok) => ok,
        () => false,
      )
      .then((ok) => {
        this.validating--;
        const tripped = e.resilience.tripped;
        if (ok && conn.broken === undefined) {
          conn.idleSince = performance.now();
          // a live connection answered: the half-open probe succeeded
          if (tripped) e.resilience.api.connectionSuccess();
          e.handout.give(conn);
        } else {
          this.destroy(conn, 'validation-failed', conn.broken);
          if (tripped) e.resilience.api.connectionFailure('the probe through a live connection failed');
          e.handout.dispatch();
        }
      });
    this.track(p);
  }

  /** Resets a connection released dirty; one that cannot be reset is closed. */
  reset(conn: Conn<C>, reason: string): void {
    const e = this.#e;
    this.resetting++;
    const p = e.driver
      .reset(conn.raw, reason)
      .then(
        (done) => done,
        () => undefined,
      )
      .then((done) => {
        this.resetting--;
        if (done !== undefined && conn.broken === undefined) e.handout.give(conn);
        else this.destroy(conn, 'dirty', reason);
        e.handout.dispatch();
      });
    this.track(p);
  }

  /** Takes a connection out of the pool and closes it; its permit comes back once the socket is closed. */
  destroy(conn: Conn<C>, reason: DestroyReason, detail: string | undefined): void {
    const e = this.#e;
    if (!this.all.delete(conn)) return;
    this.destroyed[reason]++;
    if (e.events.active) {
      e.emit({ type: 'destroy', pool: e.name, driver: e.kind, time: Date.now(), connectionId: conn.id, reason, detail });
    }
    const lifetime = this.#lifetimeTimers.get(conn);
    if (lifetime !== undefined) {
      clearTimeout(lifetime);
      this.#lifetimeTimers.delete(conn);
    }
    e.hooks.onRemove?.(conn.raw, reason);
    const after = (): void => this.#afterDestroy();
    this.track(e.driver.destroy(conn.raw).then(after, after));
  }

  #afterDestroy(): void {
    const e = this.#e;
    // the server never sees more than max: the permit is free once the socket is closed
    e.budget.give('pooled');
    e.handout.dispatch();
    e.supply.ensureMin();
    e.idle.arm();
  }

  /** Closes an idle connection when its lifetime ends; one in use is closed at release. */
  #onLifetime(conn: Conn<C>): void {
    this.#lifetimeTimers.delete(conn);
    if (this.#e.idle.remove(conn)) this.destroy(conn, 'lifetime', undefined);
  }

  #onBroken(conn: Conn<C>, err: Error | undefined): void {
    const e = this.#e;
    const first = conn.broken === undefined;
    if (first) conn.broken = err?.message ?? 'connection closed';
    if (!this.all.has(conn)) return;
    if (first && err !== undefined) {
      if (e.events.active) e.emit({ type: 'error', pool: e.name, driver: e.kind, time: Date.now(), error: err, connectionId: conn.id });
      e.hooks.onError?.(err, conn.raw, conn.lease === undefined);
      e.logError(`lifeguard: pool "${e.name}": connection #${conn.id} failed: ${err.message}; it will be replaced`);
      // not fed to the breaker: a connection that was open broke (restart, kill); reconnecting handles it
    }
    const rec = conn.lease;
    if (rec !== undefined) {
      // An 'error' on a connection whose socket is still open goes to its holder (as with
      // pg.Pool) and the connection is destroyed at release; once the socket is gone the
      // lease turns dead and its permit is freed now, not when the holder releases it (or
      // never): a waiter is served by a new connection.
      if (rec.released || (err !== undefined && e.driver.isClosed?.(conn.raw) !== true)) return;
      e.table.forceBack(rec, `the pool: its connection died (${conn.broken})`, 'error', conn.broken, { died: conn.broken });
      e.counters.checkSaturation();
      return;
    }
    if (e.idle.remove(conn)) this.destroy(conn, 'error', conn.broken);
  }

  /**
   * `LISTEN` ran on a leased connection: the lease is a long-lived listener from now
   * on (no held-too-long report; counted as a listener in the budget).
   */
  #onListen(conn: Conn<C>): void {
    const rec = conn.lease;
    if (rec === undefined || rec.listening) return;
    rec.listening = true;
    this.#e.budget.move('pooled', 'listener');
  }

  /** The outstanding leases, oldest first. */
  leaseRecords(): LeaseRecord<C>[] {
    const out: LeaseRecord<C>[] = [];
    for (const conn of this.all) if (conn.lease !== undefined) out.push(conn.lease);
    return out.sort((a, b) => a.id - b.id);
  }

  /** Keeps connection work in flight for `close()` to wait for (or cut). */
  track(p: Promise<unknown>): void {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  /** Waits for the connection work in flight, until `until` (performance.now()) at the latest. */
  async settle(until: number): Promise<void> {
    while (this.#inflight.size > 0) {
      const left = until - performance.now();
      if (left <= 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...this.#inflight]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, left);
        }),
      ]);
      clearTimeout(timer);
    }
  }

  /** True while connection work is in flight. */
  get busy(): boolean {
    return this.#inflight.size > 0;
  }
}

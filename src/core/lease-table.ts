/**
 * The lease table: makes a lease of a connection, takes a record out when its lease
 * ends, and forces leases back (connection died, garbage-collected, reclaimed,
 * forced at close) through one path. The table is the connections' `lease` fields:
 * no set to keep on the hot path.
 */
import type { Scope } from './context.js';
import type { Engine } from './engine.js';
import type { DestroyReason, LeaseInfo } from './events.js';
import { type Conn, Lease, type LeaseOwner, LeaseRecord } from './lease.js';
import { type SiteSource, leaseInfo } from './leaks.js';

export class LeaseTable<C, F> {
  readonly #e: Engine<C, F>;
  readonly #owner: LeaseOwner<C, F>;
  /** Leases out now. */
  active = 0;
  /** Leases handed out since the pool opened. */
  acquired = 0;
  /** Leases returned (released, destroyed, lost or forced). */
  released = 0;
  #seq = 0;
  /** Leases the user holds are tracked for garbage collection (leak detection is on). */
  readonly #gcTrack: boolean;
  /** Saturation events are on. */
  readonly #saturation: boolean;

  constructor(e: Engine<C, F>, owner: LeaseOwner<C, F>) {
    this.#e = e;
    this.#owner = owner;
    this.#gcTrack = e.options.leakDetection !== false;
    this.#saturation = e.options.saturation !== false;
  }

  /**
   * Leases `conn`. `track` marks leases the user holds: added to the caller's async
   * scope (nested-acquire detection) and tracked for garbage collection.
   */
  open(conn: Conn<C>, site: SiteSource | undefined, tag: string | undefined, now: number, waitMs: number, scope: Scope | undefined, track: boolean): Lease<C, F> {
    const e = this.#e;
    conn.uses++;
    const rec = new LeaseRecord<C>(++this.#seq, this.#owner, conn, now, site, tag);
    conn.lease = rec;
    this.active++;
    this.acquired++;
    e.meter.wait.record(waitMs);
    const lease = new Lease<C, F>(rec, this.#owner);
    if (track) {
      if (scope !== undefined) {
        scope.held.push(rec);
        rec.scopeHeld = scope.held;
      }
      // held strongly until the next sweep registers it for garbage-collection tracking
      if (this.#gcTrack) rec.handle = lease;
    }
    if (this.#saturation) e.counters.checkSaturation();
    e.hooks.onAcquire?.(conn.raw, lease);
    if (e.events.active) {
      e.emit({ type: 'acquire', pool: e.name, driver: e.kind, time: Date.now(), leaseId: rec.id, connectionId: conn.id, waitMs, tag });
    }
    return lease;
  }

  /** Takes a record out of the table (release, loss or force). */
  finish(rec: LeaseRecord<C>, now: number): void {
    const e = this.#e;
    this.active--;
    if (rec.listening) e.budget.move('listener', 'pooled');
    rec.conn.lease = undefined;
    rec.handle = undefined;
    this.released++;
    e.meter.use.record(now - rec.acquiredAt);
    const held = rec.scopeHeld;
    if (held !== undefined) {
      const i = held.lastIndexOf(rec);
      if (i !== -1) held.splice(i, 1);
    }
    if (rec.reported) e.leaks.resolved(rec, now);
    if (e.closing) e.shutdown.checkDrained();
  }

  /**
   * Forces a lease back: later use of it throws `LEASE_RELEASED` with `note`, and its
   * connection is closed (its state is unknown). Returns the lease as it was.
   */
  forceBack(
    rec: LeaseRecord<C>,
    note: string,
    reason: DestroyReason,
    detail: string | undefined,
    opts?: { readonly died?: string; readonly leak?: 'lost' | 'unreleased-at-close' },
  ): LeaseInfo {
    const e = this.#e;
    const now = performance.now();
    const info = leaseInfo(rec, e.name, now, e.leaks.siteContext);
    rec.released = true;
    rec.releaseNote = note;
    if (opts?.died !== undefined) rec.died = opts.died;
    this.finish(rec, now);
    if (opts?.leak !== undefined) e.leaks.report(opts.leak, info);
    e.conns.destroy(rec.conn, reason, detail);
    return info;
  }

  /** Forces every outstanding lease back (a test suite after a leak was reported). */
  reclaim(note: string): LeaseInfo[] {
    const out: LeaseInfo[] = [];
    for (const rec of this.#e.conns.leaseRecords()) out.push(this.forceBack(rec, note, 'released-with-error', note));
    if (out.length > 0) this.#e.counters.checkSaturation();
    return out;
  }

  /** Outstanding leases, oldest first, as reports show them. */
  infos(recs: readonly LeaseRecord<C>[] = this.#e.conns.leaseRecords()): LeaseInfo[] {
    const e = this.#e;
    const now = performance.now();
    return recs.map((r) => leaseInfo(r, e.name, now, e.leaks.siteContext));
  }
}

/**
 * Leases: the pool keeps a `LeaseRecord` (no reference to the user's handle, so a
 * dropped handle can be garbage-collected and reported as lost); the user gets a
 * `Lease`, which refers to the record.
 */
import type { LeaseHandle } from './driver.js';
import type { SiteSource } from './leaks.js';
import type { SiteHolder } from './site.js';

/** Internal: a physical connection inside a pool. */
export class Conn<C> {
  uses = 0;
  /** Why it can no longer be used; set when it errored or closed. */
  broken: string | undefined = undefined;
  /** When it went back to idle (performance.now()). */
  idleSince: number;
  lease: LeaseRecord<C> | undefined = undefined;
  constructor(
    readonly id: number,
    readonly raw: C,
    readonly createdAt: number,
    readonly expiresAt: number,
  ) {
    this.idleSince = createdAt;
  }
}

/** Internal: what the pool knows of one lease. */
export class LeaseRecord<C> {
  released = false;
  /** Set once a held-too-long leak was reported for it. */
  reported = false;
  releaseSite: SiteHolder | undefined = undefined;
  releaseNote: string | undefined = undefined;
  /** Set when its connection died while leased: the pool took it back, release() is a no-op. */
  died: string | undefined = undefined;
  /**
   * The user's handle, held strongly only until the next sweep registers it for
   * garbage-collection tracking (then cleared, so a dropped handle can be collected).
   */
  handle: object | undefined = undefined;
  /** The async-context list this lease was added to, to remove it on release. */
  scopeHeld: object[] | undefined = undefined;
  /** `LISTEN` ran on it: a long-lived listener, not a leak (pg; graphile-worker does this). */
  listening = false;
  constructor(
    readonly id: number,
    readonly owner: object,
    readonly conn: Conn<C>,
    readonly acquiredAt: number,
    readonly site: SiteSource | undefined,
    readonly tag: string | undefined,
  ) {}
}

/** Internal: how a Lease reaches its pool. */
export interface LeaseOwner<C, F> {
  releaseLease(record: LeaseRecord<C>, error: unknown, entry: ((...a: never[]) => unknown) | undefined): void;
  wrapLease(record: LeaseRecord<C>, lease: Lease<C, F>): F;
  usedAfterRelease(record: LeaseRecord<C>, what: string): never;
  describeSite(record: LeaseRecord<C>): string | undefined;
}

/** Internal: a facade method called when its lease ends (drops listeners it added). */
export const kDetach = Symbol.for('lifeguard.detach');

let recordOfLease: <C>(lease: Lease<C, unknown>) => LeaseRecord<C>;

/** Internal: the record of a lease: for src/core only (adapters go through CorePool's lease methods). */
export function recordOf<C>(lease: Lease<C, unknown>): LeaseRecord<C> {
  return recordOfLease(lease);
}

/**
 * A connection checked out of a pool. Release it exactly once (`release()`,
 * `destroy()`, or `await using`); afterwards its `client` throws `LEASE_RELEASED`.
 */
export class Lease<C, F = C> implements LeaseHandle, AsyncDisposable {
  readonly #record: LeaseRecord<C>;
  readonly #owner: LeaseOwner<C, F>;
  #client: F | undefined = undefined;

  static {
    // the one way to a lease's record, for src/core only (not re-exported from the package)
    recordOfLease = (lease) => lease.#record;
  }

  /** @internal */
  constructor(record: LeaseRecord<C>, owner: LeaseOwner<C, F>) {
    this.#record = record;
    this.#owner = owner;
  }

  /** Lease id, unique within its pool. */
  get id(): number {
    return this.#record.id;
  }

  /** The request tag this lease is attributed to. */
  get tag(): string | undefined {
    return this.#record.tag;
  }

  /** True once released or destroyed. */
  get released(): boolean {
    return this.#record.released;
  }

  /** Where it was acquired (`file:line:col` of the user's call), when captured. */
  get site(): string | undefined {
    return this.#owner.describeSite(this.#record);
  }

  /** The client to use while the lease is held. */
  get client(): F {
    const r = this.#record;
    if (r.released) this.#owner.usedAfterRelease(r, 'client of');
    return (this.#client ??= this.#owner.wrapLease(r, this));
  }

  /** Returns the connection to the pool (reset or destroyed first if it is dirty). */
  release(error?: unknown): void {
    this.#detach();
    this.#owner.releaseLease(this.#record, error, Lease.prototype.release);
  }

  /** Closes the connection instead of returning it. */
  destroy(error?: unknown): void {
    this.#detach();
    this.#owner.releaseLease(this.#record, error ?? true, Lease.prototype.destroy);
  }

  #detach(): void {
    const c = this.#client as { [kDetach]?: () => void } | undefined;
    if (c !== undefined && !this.#record.released) c[kDetach]?.();
  }

  /** @internal used by facades */
  assertUsable(what: string): void {
    const r = this.#record;
    if (r.released) this.#owner.usedAfterRelease(r, what);
  }

  /** Releases unless already released: `await using lease = await pool.acquire()`. */
  [Symbol.asyncDispose](): Promise<void> {
    if (!this.#record.released) {
      this.#detach();
      this.#owner.releaseLease(this.#record, undefined, Lease.prototype[Symbol.asyncDispose]);
    }
    return Promise.resolve();
  }
}

/**
 * Internal: what an adapter may keep of a lease without keeping the lease alive (pg's
 * checked-out client holds one per checkout, so a dropped lease can still be collected
 * and reported as lost): whether it ended, and the pool's answers for it.
 */
export interface LeaseRef {
  readonly released: boolean;
}

/** Internal: the {@link LeaseRef} of a lease. */
export function leaseRef(lease: LeaseHandle): LeaseRef {
  return recordOf(lease as Lease<unknown, unknown>);
}

/** Internal: throws the pool's `LEASE_RELEASED` for using `ref`'s lease after it ended. */
export function refuseUse(ref: LeaseRef, what: string): never {
  const rec = ref as LeaseRecord<unknown>;
  return (rec.owner as LeaseOwner<unknown, unknown>).usedAfterRelease(rec, what);
}

/** Internal: releases `ref`'s lease from the user's release function `entry` (its line is the release site). */
export function releaseRef(ref: LeaseRef, error: unknown, entry: (...a: never[]) => unknown): void {
  const rec = ref as LeaseRecord<unknown>;
  (rec.owner as LeaseOwner<unknown, unknown>).releaseLease(rec, error, entry);
}

/**
 * Leases: the pool keeps a `LeaseRecord` (no reference to the user's handle, so a
 * dropped handle can be garbage-collected and reported as lost); the user gets a
 * `Lease`, which refers to the record.
 */
import type { LeaseHandle } from './driver.js';
import type { SiteSource } from './leaks.js';
import type { SiteHolder } from './site.js';

/** @internal a physical connection inside a pool. */
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

/** @internal what the pool knows of one lease. */
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

/** @internal how a Lease reaches its pool. */
export interface LeaseOwner<C, F> {
  releaseLease(record: LeaseRecord<C>, error: unknown, entry: ((...a: never[]) => unknown) | undefined): void;
  wrapLease(record: LeaseRecord<C>, lease: Lease<C, F>): F;
  usedAfterRelease(record: LeaseRecord<C>, what: string): never;
  describeSite(record: LeaseRecord<C>): string | undefined;
}

/** @internal */
export const kRecord = Symbol('lifeguard.leaseRecord');
/** @internal ends a lease from lifeguard's own code (no release-site capture). */
export const kEnd = Symbol('lifeguard.leaseEnd');
/** @internal a facade method called when its lease ends (drops listeners it added). */
export const kDetach = Symbol.for('lifeguard.detach');

/** @internal the record of a lease, for the engine. */
export function recordOf<C>(lease: Lease<C, unknown>): LeaseRecord<C> {
  return lease[kRecord];
}

/**
 * A connection checked out of a pool. Release it exactly once (`release()`,
 * `destroy()`, or `await using`); afterwards its `client` throws `LEASE_RELEASED`.
 */
export class Lease<C, F = C> implements LeaseHandle, AsyncDisposable {
  /** @internal */
  readonly [kRecord]: LeaseRecord<C>;
  readonly #owner: LeaseOwner<C, F>;
  #client: F | undefined = undefined;

  /** @internal */
  constructor(record: LeaseRecord<C>, owner: LeaseOwner<C, F>) {
    this[kRecord] = record;
    this.#owner = owner;
  }

  /** Lease id, unique within its pool. */
  get id(): number {
    return this[kRecord].id;
  }

  /** The request tag this lease is attributed to. */
  get tag(): string | undefined {
    return this[kRecord].tag;
  }

  /** True once released or destroyed. */
  get released(): boolean {
    return this[kRecord].released;
  }

  /** Where it was acquired (`file:line:col` of the user's call), when captured. */
  get site(): string | undefined {
    return this.#owner.describeSite(this[kRecord]);
  }

  /** The client to use while the lease is held. */
  get client(): F {
    const r = this[kRecord];
    if (r.released) this.#owner.usedAfterRelease(r, 'client of');
    return (this.#client ??= this.#owner.wrapLease(r, this));
  }

  /** Returns the connection to the pool (reset or destroyed first if it is dirty). */
  release(error?: unknown): void {
    this.#detach();
    this.#owner.releaseLease(this[kRecord], error, Lease.prototype.release);
  }

  /** Closes the connection instead of returning it. */
  destroy(error?: unknown): void {
    this.#detach();
    this.#owner.releaseLease(this[kRecord], error ?? true, Lease.prototype.destroy);
  }

  /** @internal */
  [kEnd](error: unknown): void {
    this.#detach();
    this.#owner.releaseLease(this[kRecord], error, undefined);
  }

  #detach(): void {
    const c = this.#client as { [kDetach]?: () => void } | undefined;
    if (c !== undefined && !this[kRecord].released) c[kDetach]?.();
  }

  /** @internal used by facades */
  assertUsable(what: string): void {
    const r = this[kRecord];
    if (r.released) this.#owner.usedAfterRelease(r, what);
  }

  /** Releases unless already released: `await using lease = await pool.acquire()`. */
  [Symbol.asyncDispose](): Promise<void> {
    if (!this[kRecord].released) {
      this.#detach();
      this.#owner.releaseLease(this[kRecord], undefined, Lease.prototype[Symbol.asyncDispose]);
    }
    return Promise.resolve();
  }
}

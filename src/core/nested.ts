/**
 * Nested-acquire detection: which leases the current async context holds, and the
 * report (a warning once per pair of sites, or `NESTED_ACQUIRE`) when it acquires
 * again from the same pool, the pattern that deadlocks a full pool.
 */
import { cheapContext, contextStorage, type Scope } from './context.js';
import type { Engine } from './engine.js';
import { recordOf, type Lease, type LeaseRecord } from './lease.js';
import { type SiteSource, afterSites, describeSite } from './leaks.js';
import { nestedAcquireError, nestedAcquireText } from './messages.js';
import { ScopedCall } from './scoped.js';

export class NestedScope<C, F> {
  readonly #e: Engine<C, F>;
  readonly #owner: object;
  /** Pairs of sites already warned about (bounded). */
  readonly #seen = new Set<string>();
  /** A context is opened per scoped call (see `holding`). */
  readonly #perCall: boolean;

  constructor(e: Engine<C, F>, owner: object) {
    this.#e = e;
    this.#owner = owner;
    const ld = e.options.leakDetection;
    // Node >= 24: always (no promise hooks); before, only when stacks are captured 'always'
    this.#perCall = cheapContext || (ld !== false && ld.captureStacks === 'always');
  }

  /** The lease of this pool the context holds, if any. */
  find(scope: Scope): LeaseRecord<C> | undefined {
    for (const h of scope.held) {
      const r = h as LeaseRecord<C>;
      if (r.owner === this.#owner && !r.released) return r;
    }
    return undefined;
  }

  /**
   * Reports a nested acquire once the sites of both calls are known (scoped calls
   * capture theirs a microtask later); with 'throw', the acquire's rejection.
   */
  report(held: LeaseRecord<C>, site: SiteSource | undefined, tag: string | undefined): Promise<never> | undefined {
    const e = this.#e;
    e.meter.nestedAcquires++;
    const ctx = e.leaks.siteContext;
    const report = (): Error | undefined => {
      const heldSite = describeSite(held.site, ctx).site;
      const newSite = describeSite(site, ctx).site;
      if (e.events.active) {
        e.emit({ type: 'nested-acquire', pool: e.name, driver: e.kind, time: Date.now(), heldSite, site: newSite, tag });
      }
      if (e.options.onNestedAcquire === 'throw') return nestedAcquireError(e.name, held.id, heldSite, newSite);
      const key = `${heldSite}>${newSite}`;
      if (!this.#seen.has(key)) {
        if (this.#seen.size < 1000) this.#seen.add(key);
        e.log('warn', nestedAcquireText(e.name, held.id, heldSite, newSite));
      }
      return undefined;
    };
    // still inside the new call: its own line is on the stack now (a nested call is often returned, not awaited)
    if (site instanceof ScopedCall) site.captureNow();
    const both = [held, { site }];
    if (e.options.onNestedAcquire === 'throw') {
      return new Promise<never>((_, reject) => setImmediate(() => afterSites(both, () => reject(report()))));
    }
    setImmediate(() => afterSites(both, report));
    return undefined;
  }

  /**
   * Runs `fn(arg)` (no closure per call) while `lease` counts as held by the current
   * async context, so an acquire inside it is seen as nested. Reuses the request's
   * scope (`runWithTag`, the tag helpers); opens one of its own on Node >= 24
   * (`cheapContext`), and before that only when stacks are captured 'always' (tests,
   * development), since on Node 20 and 22 a first `AsyncLocalStorage.run` turns on
   * promise hooks for the whole process.
   */
  holding<A, T>(lease: Lease<C, F>, fn: (arg: A) => T, arg: A): T {
    if (this.#e.options.onNestedAcquire === 'ignore') return fn(arg);
    const rec = recordOf(lease);
    const scope = contextStorage.getStore();
    if (scope !== undefined) {
      scope.held.push(rec);
      rec.scopeHeld = scope.held;
      return fn(arg);
    }
    if (this.#perCall) return contextStorage.run({ tag: rec.tag, held: [rec] }, fn, arg);
    return fn(arg);
  }
}

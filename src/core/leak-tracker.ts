/**
 * The leak tracker: which acquisitions capture their site (sampling, escalation
 * after a report without one), the sweeper that finds leases held too long, the
 * garbage-collection tracking of dropped leases, and leak reports (event, channel,
 * rate-limited log block).
 */
import { leakChannel, publishLeak } from './channels.js';
import type { Engine } from './engine.js';
import type { LeaseInfo } from './events.js';
import type { LeaseRecord } from './lease.js';
import { type SiteContext, afterSites, formatDuration, leakBlock, leaseInfo } from './leaks.js';
import { LogLimiter } from './logger.js';
import { escalateText, leakResolvedText } from './messages.js';
import { ScopedCall } from './scoped.js';
import { captureSite, type SiteHolder } from './site.js';

/** After a leak or timeout with no site, every acquire is captured for at least this long (sampled mode). */
const ESCALATE_MS = 60_000;

type Entry = (...args: never[]) => unknown;

export class LeakTracker<C, F> {
  readonly #e: Engine<C, F>;
  /** How sites of this pool become text (`leakDetection.ignoreFrames`, and why a site is missing). */
  readonly siteContext: SiteContext;
  /** Release sites are captured too ('always' mode). */
  readonly #captureAlways: boolean;
  readonly #samplePeriod: number;
  /** `captureStacks: 'sampled'`. */
  readonly #sampled: boolean;
  /** Scoped calls are attributed lazily (capture is on at all). */
  readonly #lazySites: boolean;
  readonly #limit: number;
  #sampleTick = 0;
  #escalatedUntil = 0;
  readonly #finalizer: FinalizationRegistry<LeaseRecord<C>> | undefined;
  readonly #log = new LogLimiter(10, 60_000);
  readonly #sweeper: ReturnType<typeof setInterval>;
  /** The sweeper's period: 1 s, or half the leak threshold when that is shorter. */
  readonly sweepMs: number;

  constructor(e: Engine<C, F>) {
    this.#e = e;
    const ld = e.options.leakDetection;
    this.#samplePeriod = ld !== false && ld.sampleRate > 0 ? Math.max(1, Math.round(1 / ld.sampleRate)) : Infinity;
    this.#captureAlways = ld !== false && ld.captureStacks === 'always';
    this.#sampled = ld !== false && ld.captureStacks === 'sampled';
    this.#lazySites = ld !== false && ld.captureStacks !== false;
    this.#limit = ld === false ? 1 : ld.stackTraceLimit;
    this.siteContext = {
      ignore: ld === false ? [] : ld.ignoreFrames,
      missing: ld === false || ld.captureStacks === false ? 'capture-off' : 'not-sampled',
    };
    this.#finalizer = ld === false ? undefined : new FinalizationRegistry((rec) => this.#onLost(rec));
    this.sweepMs = Math.max(5, Math.min(1000, ld === false ? 1000 : ld.thresholdMs / 2));
    this.#sweeper = setInterval(() => this.#sweep(), this.sweepMs);
    this.#sweeper.unref();
  }

  /**
   * Captures the caller's site above `entry` according to the capture mode; call it
   * synchronously at the public entry point, before any `await`.
   */
  site(entry: Entry): SiteHolder | undefined {
    if (!this.#lazySites) return undefined; // capture off
    if (this.#sampled && this.#escalatedUntil === 0) {
      if (++this.#sampleTick < this.#samplePeriod) return undefined;
      this.#sampleTick = 0;
    }
    return captureSite(entry, this.#limit);
  }

  /** The creation site of a long-lived connection: captured whenever capture is on at all. */
  longLivedSite(entry: Entry): SiteHolder | undefined {
    return this.#lazySites ? captureSite(entry, this.#limit) : undefined;
  }

  /** The sink and promise of a scoped call, attributed lazily (see scoped.ts). */
  scoped<T>(entry: Entry): ScopedCall<T> {
    return new ScopedCall<T>(this.#lazySites, this.#limit, entry);
  }

  /** A release site, captured in 'always' mode only (a second capture per lease). */
  releaseSite(entry: Entry): SiteHolder | undefined {
    return this.#captureAlways ? captureSite(entry, 3) : undefined;
  }

  /** Sampled mode: a report had no site, so capture every acquisition for a while. */
  escalate(): void {
    const e = this.#e;
    const ld = e.options.leakDetection;
    if (ld === false || ld.captureStacks !== 'sampled') return;
    const ms = Math.max(ESCALATE_MS, 4 * ld.thresholdMs);
    if (this.#escalatedUntil === 0) e.log('info', escalateText(e.name, ms));
    this.#escalatedUntil = performance.now() + ms;
  }

  report(kind: 'held-too-long' | 'lost' | 'unreleased-at-close', info: LeaseInfo): void {
    const e = this.#e;
    if (info.noSite === 'not-sampled') this.escalate();
    e.meter.leaks[kind]++;
    if (leakChannel.hasSubscribers) publishLeak(e.name, e.kind, kind, info);
    if (e.events.active) e.emit({ type: 'leak', pool: e.name, driver: e.kind, time: Date.now(), kind, lease: info });
    const s = this.#log.take(performance.now());
    if (s >= 0) e.log('warn', leakBlock(kind, e.kind, info, s));
  }

  /** A lease reported as leaked came back. */
  resolved(rec: LeaseRecord<C>, now: number): void {
    const e = this.#e;
    if (e.events.active) {
      const info = leaseInfo(rec, e.name, now, this.siteContext);
      e.emit({ type: 'leak-resolved', pool: e.name, driver: e.kind, time: Date.now(), lease: info, heldMs: now - rec.acquiredAt });
    }
    e.log('info', leakResolvedText(e.name, rec.id, formatDuration(now - rec.acquiredAt)));
  }

  stop(): void {
    clearInterval(this.#sweeper);
  }

  #onLost(rec: LeaseRecord<C>): void {
    if (rec.released) return;
    this.#e.table.forceBack(rec, 'garbage collection (never released)', 'lost', undefined, { leak: 'lost' });
    this.#e.counters.checkSaturation();
  }

  #sweep(): void {
    const e = this.#e;
    const now = performance.now();
    if (this.#escalatedUntil !== 0 && now > this.#escalatedUntil) this.#escalatedUntil = 0;
    const ld = e.options.leakDetection;
    if (ld !== false) {
      let due: LeaseRecord<C>[] | undefined;
      for (const rec of e.conns.leaseRecords()) {
        if (rec.handle !== undefined) {
          this.#finalizer!.register(rec.handle, rec);
          rec.handle = undefined;
        }
        const age = now - rec.acquiredAt;
        // a scoped call out for a sweep period or more takes its site now, so leases() and reports have it
        if (age >= this.sweepMs && rec.site instanceof ScopedCall) rec.site.wake();
        if (!rec.reported && !rec.listening && age >= ld.thresholdMs) {
          rec.reported = true;
          (due ??= []).push(rec);
        }
      }
      if (due !== undefined) {
        const reported = due;
        afterSites(reported, () => {
          for (const info of e.table.infos(reported)) this.report('held-too-long', info);
        });
      }
    }
    e.supply.ensureMin();
  }
}

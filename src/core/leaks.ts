/**
 * Leak and holder reports. Everything here formats text, so none of it runs on the
 * hot path: only when an error is built, a leak is reported or someone asks.
 */
import type { DriverKind, LeaseInfo } from './events.js';
import type { LeaseRecord } from './lease.js';
import { ScopedCall } from './scoped.js';
import { type FrameMatcher, type NoSiteReason, type SiteHolder, noSiteText, parseSite, siteText, stackText } from './site.js';
import { quoteTag } from './text.js';

/** Where a lease's site comes from: an eager capture or a scoped call. */
export type SiteSource = SiteHolder | ScopedCall;

/** How a pool turns sites into text. */
export interface SiteContext {
  /** `leakDetection.ignoreFrames`. */
  readonly ignore: readonly FrameMatcher[];
  /** Why a lease without any capture has none: capture off, or not sampled. */
  readonly missing: NoSiteReason;
}

/** The site, stack and missing-site reason of a source. */
export function describeSite(
  src: SiteSource | undefined,
  ctx: SiteContext,
): { site: string | undefined; stack: string | undefined; noSite: NoSiteReason | undefined } {
  const scoped = src instanceof ScopedCall;
  if (src === undefined || (scoped && !src.lazy)) return { site: undefined, stack: undefined, noSite: ctx.missing };
  const holder = scoped ? src.site : src;
  if (holder === undefined) return { site: undefined, stack: undefined, noSite: 'pending' };
  const parsed = parseSite(holder, ctx.ignore);
  if (parsed.frames.length === 0) return { site: undefined, stack: undefined, noSite: scoped ? 'not-awaited' : 'no-application-frame' };
  const site = siteText(parsed);
  return { site, stack: stackText(parsed), noSite: site === undefined ? 'no-application-frame' : undefined };
}

/** `file:line:col` of a source, or the words for why there is none. */
export function siteOrReason(src: SiteSource | undefined, ctx: SiteContext): string {
  const d = describeSite(src, ctx);
  return d.site ?? `an unrecorded site (${noSiteText(d.noSite!)})`;
}

/** A lease's report entry. */
export function leaseInfo(
  rec: LeaseRecord<unknown>,
  pool: string,
  now: number,
  ctx: SiteContext,
  kind: LeaseInfo['kind'] = 'lease',
): LeaseInfo {
  const d = describeSite(rec.site, ctx);
  return Object.freeze({
    id: rec.id,
    pool,
    kind: rec.listening ? 'listener' : kind,
    ageMs: Math.round(now - rec.acquiredAt),
    tag: rec.tag,
    site: d.site,
    stack: d.stack,
    noSite: d.noSite,
  });
}

/**
 * Wakes the scoped calls among `records` whose site is not taken yet and runs
 * `report` once they have captured it (a microtask later), or at once when none
 * had to be woken.
 */
export function afterSites(records: Iterable<{ readonly site: SiteSource | undefined }>, report: () => void): void {
  let woke = false;
  for (const r of records) {
    const s = r.site;
    if (s instanceof ScopedCall && s.lazy && s.site === undefined) {
      s.wake();
      woke = true;
    }
  }
  if (woke) queueMicrotask(report);
  else report();
}

/** `9.8 s`, `420 ms`. */
export function formatDuration(ms: number): string {
  if (ms >= 10_000) return `${Math.round(ms / 1000)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

const SHORT_REASON: Readonly<Record<NoSiteReason, string>> = {
  'capture-off': 'capture off',
  'not-sampled': 'not sampled',
  pending: 'site pending',
  'not-awaited': 'not awaited',
  'no-application-frame': 'no application frame',
};

/**
 * The longest holders grouped by acquisition site, e.g.
 * `6× src/routes/users.ts:41 (oldest 9.8 s, "GET /users"), 4× src/jobs/sync.ts:88 (oldest 2.0 s)`.
 */
export function holdersSummary(infos: readonly LeaseInfo[], maxGroups = 5): string {
  if (infos.length === 0) return 'none';
  const groups = new Map<string, { count: number; oldest: number; tags: Set<string> }>();
  for (const i of infos) {
    const key = i.site ?? `an unrecorded site (${SHORT_REASON[i.noSite ?? 'no-application-frame']})`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { count: 0, oldest: 0, tags: new Set() }));
    g.count++;
    g.oldest = Math.max(g.oldest, i.ageMs);
    if (i.tag !== undefined && g.tags.size < 3) g.tags.add(i.tag);
  }
  const sorted = [...groups.entries()].sort((a, b) => b[1].oldest - a[1].oldest || b[1].count - a[1].count);
  const parts = sorted.slice(0, maxGroups).map(([site, g]) => {
    const tags = [...g.tags].slice(0, 3).map(quoteTag);
    const extra = [`oldest ${formatDuration(g.oldest)}`, ...tags].join(', ');
    return `${g.count}× ${site} (${extra})`;
  });
  if (sorted.length > maxGroups) parts.push(`${sorted.length - maxGroups} more sites`);
  return parts.join(', ');
}

/** The readable block a logger prints for one leak. */
export function leakBlock(
  kind: string,
  driver: DriverKind,
  info: LeaseInfo,
  suppressed: number,
): string {
  const what =
    kind === 'held-too-long'
      ? `held for ${formatDuration(info.ageMs)} without release`
      : kind === 'lost'
        ? `was garbage-collected without release after ${formatDuration(info.ageMs)}; its connection was closed`
        : kind === 'unreleased-at-close'
          ? `was still held after ${formatDuration(info.ageMs)} when the pool closed; it was forced`
          : `was garbage-collected without close() after ${formatDuration(info.ageMs)}; its connection was closed`;
  const lines = [`lifeguard: leak (${kind}) in ${driver} pool "${info.pool}": ${info.kind} #${info.id} ${what}`];
  lines.push(`  tag: ${info.tag === undefined ? '(none)' : quoteTag(info.tag)}`);
  if (info.site === undefined) lines.push(`  acquired at: (${noSiteText(info.noSite ?? 'no-application-frame')})`);
  if (info.stack) lines.push(`${info.site === undefined ? '  stack' : '  acquired at'}:\n${info.stack}`);
  if (suppressed > 0) lines.push(`  (${suppressed} similar reports were suppressed)`);
  return lines.join('\n');
}

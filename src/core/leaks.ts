/**
 * Leak and holder reports. Everything here formats text, so none of it runs on the
 * hot path: only when an error is built, a leak is reported or someone asks.
 */
import type { DriverKind, LeaseInfo } from './events.js';
import type { LeaseRecord } from './lease.js';
import { formatSite, formatStack } from './site.js';

/** A lease's report entry. */
export function leaseInfo(
  rec: LeaseRecord<unknown>,
  pool: string,
  now: number,
  kind: LeaseInfo['kind'] = 'lease',
): LeaseInfo {
  return Object.freeze({
    id: rec.id,
    pool,
    kind,
    ageMs: Math.round(now - rec.acquiredAt),
    tag: rec.tag,
    site: formatSite(rec.site),
    stack: formatStack(rec.site),
  });
}

/** `9.8 s`, `420 ms`. */
export function formatDuration(ms: number): string {
  if (ms >= 10_000) return `${Math.round(ms / 1000)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms)} ms`;
}

const UNKNOWN_SITE = 'an unrecorded site';

/**
 * The longest holders grouped by acquisition site, e.g.
 * `6× src/routes/users.ts:41 (oldest 9.8 s, "GET /users"), 4× src/jobs/sync.ts:88 (oldest 2.0 s)`.
 */
export function holdersSummary(infos: readonly LeaseInfo[], maxGroups = 5): string {
  if (infos.length === 0) return 'none';
  const groups = new Map<string, { count: number; oldest: number; tags: Set<string> }>();
  for (const i of infos) {
    const key = i.site ?? UNKNOWN_SITE;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { count: 0, oldest: 0, tags: new Set() }));
    g.count++;
    g.oldest = Math.max(g.oldest, i.ageMs);
    if (i.tag !== undefined) g.tags.add(i.tag);
  }
  const sorted = [...groups.entries()].sort((a, b) => b[1].oldest - a[1].oldest || b[1].count - a[1].count);
  const parts = sorted.slice(0, maxGroups).map(([site, g]) => {
    const tags = [...g.tags].slice(0, 3).map((t) => JSON.stringify(t));
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
  lines.push(`  tag: ${info.tag === undefined ? '(none)' : JSON.stringify(info.tag)}`);
  if (info.stack) lines.push(`  acquired at:\n${info.stack}`);
  else lines.push('  acquired at: (no stack: capture is off or this acquire was not sampled; the next ones are)');
  if (suppressed > 0) lines.push(`  (${suppressed} similar reports were suppressed)`);
  return lines.join('\n');
}

/**
 * Leak checks for test suites: `leakReport()` lists what is still out in every
 * lifeguard pool of the process; `assertNoLeaks()` throws a `LeakError` naming each
 * with the line that acquired it.
 */
import { LeakError } from '../core/errors.js';
import type { LeaseInfo } from '../core/events.js';
import { formatDuration } from '../core/leaks.js';
import { noSiteText } from '../core/site.js';
import { registry } from '../core/registry.js';
import { quoteTag } from '../core/text.js';

/** Everything still out in the process's open pools, oldest first. */
export function leakReport(): LeaseInfo[] {
  return [...registry.pools]
    .flatMap((p) => p.leases())
    .sort((a, b) => b.ageMs - a.ageMs);
}

/** The text of a leak report: one block per lease, with its stack. */
export function formatLeakReport(leaks: readonly LeaseInfo[]): string {
  const lines = [`lifeguard: ${leaks.length} connection${leaks.length === 1 ? '' : 's'} still held:`];
  for (const l of leaks) {
    lines.push(
      `  ${l.kind} #${l.id} of pool "${l.pool}", held ${formatDuration(l.ageMs)}` +
        (l.tag === undefined ? '' : `, tag ${quoteTag(l.tag)}`) +
        `, acquired at ${l.site ?? `an unrecorded site (${noSiteText(l.noSite ?? 'no-application-frame')})`}`,
    );
    if (l.stack) lines.push(l.stack.replace(/^/gm, '  '));
  }
  return lines.join('\n');
}

/** Options of {@link assertNoLeaks}. */
export interface AssertNoLeaksOptions {
  /**
   * Force what it finds back into the pools (connections closed) after reporting,
   * so the next test starts clean.
   * @default false
   */
  reclaim?: boolean;
}

/** Throws `LeakError` (code `LEAK`) listing every outstanding lease with its acquisition site. */
export function assertNoLeaks(options?: AssertNoLeaksOptions): void {
  const leaks = leakReport();
  if (leaks.length === 0) return;
  if (options?.reclaim) reclaimAll('reclaimed by lifeguard after a leak report');
  const err = new LeakError(formatLeakReport(leaks), leaks.length);
  // The stack is the report itself (each lease, then its frames), so a runner that prints
  // the stack shows every lease and puts the first leaked acquisition first, not this helper.
  if (leaks.some((l) => l.stack !== undefined)) err.stack = `${err.name}: ${err.message}`;
  throw err;
}

/** Forces every outstanding lease of every pool back. */
export function reclaimAll(note: string): LeaseInfo[] {
  return [...registry.pools].flatMap((p) => p.reclaim(note));
}

export { LeakError };

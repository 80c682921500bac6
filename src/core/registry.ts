/**
 * Process-wide state shared by every copy of lifeguard loaded in the process: the
 * manager's event hub (every pool forwards to it) and the set of open pools (for
 * leak reports). Keyed on `globalThis` with `Symbol.for`.
 */
import { EventHub, type LeaseInfo } from './events.js';
import type { PoolStats } from './pool.js';

/** What every open pool exposes to reports, whatever its driver. */
export interface RegisteredPool {
  readonly name: string;
  /** Outstanding leases and dedicated connections (subscribers, listeners). */
  leases(): LeaseInfo[];
  stats(): PoolStats;
  /** @internal forces everything outstanding back, so the next test starts clean. */
  reclaim(note: string): LeaseInfo[];
}

interface Registry {
  readonly hub: EventHub;
  readonly pools: Set<RegisteredPool>;
}

const KEY = Symbol.for('lifeguard.registry');
const g = globalThis as { [KEY]?: Registry };

/** The process-wide registry. */
export const registry: Registry = (g[KEY] ??= { hub: new EventHub(undefined, console), pools: new Set() });

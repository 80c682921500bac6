/**
 * The runbook checks, pure: snapshots of rows from `CLIENT LIST` / `INFO` /
 * `pg_stat_activity` go in, findings come out, worst first. No I/O, no clock: the
 * time of the snapshot is in the rows. This file holds what a finding is, the
 * thresholds and the entry point; the checks are redis-checks.ts and pg-checks.ts.
 */
import { pgFindings } from './pg-checks.js';
import { redisFindings } from './redis-checks.js';
import type { RedisSnapshot, ServerSnapshot } from './rows.js';

export { parseClientList, parseInfo } from './parse.js';
export { parsePgName, parseRedisName, type LifeguardName } from './names.js';
export {
  groupConnections,
  pgClientRows,
  pgLimit,
  pgState,
  redisClientRows,
  redisState,
  type AppGroup,
  type OtherGroup,
  type PoolGroup,
  type ProcessGroup,
  type RedisState,
  type ServerView,
  type StateCounts,
} from './groups.js';
export { runningBudgets } from './checks.js';

/** How bad a finding is. `info` is a note: it does not change the exit code. */
export type Severity = 'info' | 'warning' | 'critical';

/** One thing doctor found, with the numbers behind it and what to do. */
export interface Finding {
  /** Stable identifier, e.g. `redis-utilisation`, `pg-idle-in-transaction` (documented in the README). */
  readonly id: string;
  readonly server: 'redis' | 'pg';
  readonly severity: Severity;
  /** One line for a human. */
  readonly message: string;
  /** The figures behind it, by name (counts, limits, seconds, ratios). */
  readonly numbers: Readonly<Record<string, number>>;
  /** Which runbook step this answers. */
  readonly runbook: string;
  /** What to do next. */
  readonly action: string;
  /** The groups concerned (`app:pool:pid`, or a client name / address). */
  readonly subjects: readonly string[];
}

/** Thresholds of the checks. */
export interface Thresholds {
  /** Utilisation of a server limit that is a warning. @default 0.8 */
  readonly warnRatio: number;
  /** Utilisation of a server limit that is critical. @default 0.9 */
  readonly criticalRatio: number;
  /** A connection idle this long (s) is reported (runbook: `awk '$12 > 300'`). @default 300 */
  readonly idleS: number;
  /** A session idle in transaction this long (s) is reported. @default 10 */
  readonly idleInTransactionS: number;
  /** A query running this long (s) is reported (runbook: `interval '5 minutes'`). @default 300 */
  readonly longQueryS: number;
  /** A pool with this share of its budget blocked (BLPOP …) is a warning. @default 0.5 */
  readonly blockedShare: number;
  /** More blocked clients than this on a server is a warning (runbook: `blocked_clients > 10`). @default 10 */
  readonly blockedClients: number;
  /** More pub/sub connections than this in one process is a warning. @default 10 */
  readonly pubsubPerProcess: number;
}

/** The defaults of {@link Thresholds}. */
export const DEFAULT_THRESHOLDS: Thresholds = Object.freeze({
  warnRatio: 0.8,
  criticalRatio: 0.9,
  idleS: 300,
  idleInTransactionS: 10,
  longQueryS: 300,
  blockedShare: 0.5,
  blockedClients: 10,
  pubsubPerProcess: 10,
});

const ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Every finding of one pass, worst first. `previous` (monitor's last pass) enables the growth checks. */
export function findings(snapshots: readonly ServerSnapshot[], thresholds: Thresholds = DEFAULT_THRESHOLDS, previous: readonly ServerSnapshot[] = []): Finding[] {
  const out: Finding[] = [];
  for (const s of snapshots) {
    if (s.kind === 'redis') {
      const prev = previous.find((p): p is RedisSnapshot => p.kind === 'redis' && p.target === s.target);
      out.push(...redisFindings(s, thresholds, prev));
    } else {
      out.push(...pgFindings(s, thresholds));
    }
  }
  return out.sort((a, b) => ORDER[a.severity] - ORDER[b.severity]);
}

/** The exit code of doctor: 0 nothing (or notes only), 1 a warning, 2 critical. */
export function exitCodeOf(list: readonly Finding[]): 0 | 1 | 2 {
  if (list.some((f) => f.severity === 'critical')) return 2;
  if (list.some((f) => f.severity === 'warning')) return 1;
  return 0;
}

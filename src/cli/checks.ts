/**
 * Building blocks shared by the Redis and PostgreSQL checks: severities from
 * ratios, counts by subject, the fleet-budget and unnamed-connection findings.
 */
import type { Finding, Severity, Thresholds } from './findings.js';
import type { ServerView } from './groups.js';
import { budgetKey } from './names.js';
import type { PublishedBudget } from './rows.js';

export function ratioSeverity(ratio: number, t: Thresholds): Severity | undefined {
  if (ratio >= t.criticalRatio) return 'critical';
  if (ratio >= t.warnRatio) return 'warning';
  return undefined;
}

export const pct = (r: number): string => `${Math.round(r * 100)}%`;

export function bySubject<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const i of items) {
    const k = key(i);
    const list = out.get(k) ?? [];
    list.push(i);
    out.set(k, list);
  }
  return out;
}

export function describeCounts(m: Map<string, unknown[]>, limit = 5): string {
  const parts = [...m.entries()].sort((a, b) => b[1].length - a[1].length).map(([k, v]) => `${v.length}× ${k}`);
  return parts.length > limit ? `${parts.slice(0, limit).join(', ')}, … ${parts.length - limit} more` : parts.join(', ');
}

/** The running processes' budgets (those with at least one connection open now), by `app:pool:pid`. */
export function runningBudgets(view: ServerView, budgets: readonly PublishedBudget[]): PublishedBudget[] {
  const running = new Set<string>();
  for (const a of view.apps) for (const p of a.pools) for (const pr of p.processes) running.add(budgetKey({ app: a.app, pool: p.pool, pid: pr.pid }));
  const seen = new Set<string>();
  const out: PublishedBudget[] = [];
  for (const b of budgets) {
    const k = budgetKey(b);
    if (running.has(k) && !seen.has(k)) {
      seen.add(k);
      out.push(b);
    }
  }
  return out;
}

/** "3 × a:cache (max 20) + 1 × b:jobs (max 10) = 70". */
function fleetText(budgets: readonly PublishedBudget[]): string {
  const by = new Map<string, { n: number; max: number; sum: number }>();
  for (const b of budgets) {
    const k = `${b.app}:${b.pool}`;
    const g = by.get(k) ?? { n: 0, max: b.max, sum: 0 };
    g.n++;
    g.sum += b.max;
    if (g.max !== b.max) g.max = Number.NaN;
    by.set(k, g);
  }
  const parts = [...by.entries()].map(([k, g]) => (Number.isNaN(g.max) ? `${g.n} processes of ${k} (${g.sum} in all)` : `${g.n} ${g.n === 1 ? 'process' : 'processes'} of ${k} × max ${g.max}`));
  return parts.join(' + ');
}

export function fleetFinding(server: 'redis' | 'pg', view: ServerView, budgets: readonly PublishedBudget[], t: Thresholds, limitName: string, runbook: string): Finding[] {
  const running = runningBudgets(view, budgets);
  if (running.length === 0) return [];
  const sum = running.reduce((a, b) => a + b.max, 0);
  const ratio = sum / view.limit;
  const severity: Severity | undefined = sum > view.limit ? 'critical' : ratio >= t.warnRatio ? 'warning' : undefined;
  if (severity === undefined) return [];
  return [
    {
      id: `${server}-fleet-budget`,
      server,
      severity,
      message: `${fleetText(running)} = ${sum} ${sum > view.limit ? '>' : 'is ' + pct(ratio) + ' of'} ${limitName} ${view.limit}: at full load the running processes can ask for more connections than the server allows`,
      numbers: { processes: running.length, budgetSum: sum, limit: view.limit, ratio },
      runbook,
      action: `lower max per process (or the number of processes), or raise ${limitName}; pools that hit the server limit see "${server === 'redis' ? 'ERR max number of clients reached' : 'sorry, too many clients already'}"`,
      subjects: running.map(budgetKey),
    },
  ];
}

export function unnamedFinding(server: 'redis' | 'pg', addrs: string[], total: number, runbook: string): Finding[] {
  if (addrs.length === 0) return [];
  const groups = bySubject(addrs, (a) => a);
  return [
    {
      id: `${server}-unnamed`,
      server,
      severity: 'info',
      message: `${addrs.length} of ${total} connections carry no name, so nothing says which code holds them: ${describeCounts(groups)}`,
      numbers: { unnamed: addrs.length, connected: total },
      runbook,
      action: server === 'redis' ? 'open them through lifeguard (names them), or set connectionName on the ioredis client' : 'open them through lifeguard (names them), or set application_name',
      subjects: [...groups.keys()],
    },
  ];
}

/** The runbook checks of one PostgreSQL server: utilisation, role and database limits, long transactions and queries, locks, idle and unnamed connections. */
import { bySubject, describeCounts, fleetFinding, pct, ratioSeverity, unnamedFinding } from './checks.js';
import type { Finding, Thresholds } from './findings.js';
import { groupConnections, pgClientRows, pgLimit } from './groups.js';
import { pgAddress, pgSubject } from './names.js';
import type { PgActivityRow, PgSnapshot } from './rows.js';

export function pgFindings(s: PgSnapshot, t: Thresholds): Finding[] {
  const out: Finding[] = [];
  const view = groupConnections(s);
  const rows = pgClientRows(s);
  const limit = pgLimit(s);
  const connected = rows.length;
  const ratio = connected / limit;
  const sev = ratioSeverity(ratio, t);
  if (sev !== undefined) {
    out.push({
      id: 'pg-utilisation',
      server: 'pg',
      severity: sev,
      message: `${connected} of ${limit} connections in use (${pct(ratio)}; max_connections ${s.maxConnections} minus ${s.reservedConnections} reserved)`,
      numbers: { connected, limit, maxConnections: s.maxConnections, reserved: s.reservedConnections, ratio },
      runbook: 'db_pool_exhausted, "Prevention: warning alerts at 80% utilization"; Database connection leak, step 1',
      action: 'find who holds them below; lower pool sizes or raise max_connections',
      subjects: view.apps.map((a) => a.app),
    });
  }
  for (const [kind, limits, key] of [
    ['role', s.roleLimits, (r: PgActivityRow) => r.user],
    ['database', s.databaseLimits, (r: PgActivityRow) => r.database],
  ] as const) {
    for (const l of limits) {
      const n = rows.filter((r) => key(r) === l.name).length;
      const lr = l.limit === 0 ? (n > 0 ? 1 : 0) : n / l.limit;
      const ls = l.limit === 0 ? (n > 0 ? 'critical' : undefined) : ratioSeverity(lr, t);
      if (ls === undefined) continue;
      out.push({
        id: `pg-${kind}-limit`,
        server: 'pg',
        severity: ls,
        message: `${kind} ${l.name}: ${n} of its CONNECTION LIMIT ${l.limit} in use (${pct(lr)})`,
        numbers: { connected: n, limit: l.limit, ratio: lr },
        runbook: 'db_pool_exhausted, "Common root causes: database connection limits"',
        action: `raise it (ALTER ${kind === 'role' ? 'ROLE' : 'DATABASE'} ${l.name} CONNECTION LIMIT …) or lower the pools that use it`,
        subjects: [l.name],
      });
    }
  }
  out.push(...fleetFinding('pg', view, s.budgets, t, 'max_connections (minus reserved)', 'db_pool_exhausted, "Connection pool misconfiguration" and "Database connection limits"'));
  const iit = rows.filter((r) => r.state.startsWith('idle in transaction') && r.stateAgeS > t.idleInTransactionS);
  if (iit.length > 0) {
    const groups = bySubject(iit, pgSubject);
    const longest = Math.max(...iit.map((r) => r.stateAgeS));
    out.push({
      id: 'pg-idle-in-transaction',
      server: 'pg',
      severity: 'warning',
      message: `${iit.length} sessions idle in transaction for more than ${t.idleInTransactionS} s (longest ${Math.round(longest)} s): ${describeCounts(groups)}`,
      numbers: { sessions: iit.length, thresholdS: t.idleInTransactionS, longestS: longest },
      runbook: 'db_pool_exhausted, step 2.3 "Check for long-running transactions"',
      action: 'a transaction left open holds a connection and its locks: find the lease (`monitor --endpoint`), or end them with `lifeguard cleanup --state idle-in-transaction`',
      subjects: [...groups.keys()],
    });
  }
  const long = rows.filter((r) => r.state === 'active' && r.queryAgeS > t.longQueryS);
  if (long.length > 0) {
    const groups = bySubject(long, pgSubject);
    out.push({
      id: 'pg-long-query',
      server: 'pg',
      severity: 'warning',
      message: `${long.length} queries running for more than ${t.longQueryS} s (longest ${Math.round(Math.max(...long.map((r) => r.queryAgeS)))} s): ${describeCounts(groups)}`,
      numbers: { queries: long.length, thresholdS: t.longQueryS, longestS: Math.max(...long.map((r) => r.queryAgeS)) },
      runbook: 'db_pool_exhausted, step 1.3 "Kill long-running queries" and step 5 "Check database load"',
      action: 'look at the statements (`--json` has them); end one with pg_terminate_backend(pid) only if it is safe',
      subjects: [...groups.keys()],
    });
  }
  const locked = rows.filter((r) => r.state === 'active' && r.waitEventType === 'Lock');
  if (locked.length > 0) {
    const groups = bySubject(locked, pgSubject);
    out.push({
      id: 'pg-lock-wait',
      server: 'pg',
      severity: 'warning',
      message: `${locked.length} sessions waiting for a lock: ${describeCounts(groups)}`,
      numbers: { sessions: locked.length },
      runbook: 'db_pool_exhausted, step 5 "Check for database locks"',
      action: 'the holder is usually a session idle in transaction (see that finding)',
      subjects: [...groups.keys()],
    });
  }
  const idle = rows.filter((r) => r.state === 'idle' && r.stateAgeS > t.idleS);
  if (idle.length > 0) {
    const groups = bySubject(idle, pgSubject);
    out.push({
      id: 'pg-idle',
      server: 'pg',
      severity: 'warning',
      message: `${idle.length} connections idle for more than ${t.idleS} s: ${describeCounts(groups)}`,
      numbers: { idle: idle.length, thresholdS: t.idleS, longestS: Math.max(...idle.map((r) => r.stateAgeS)) },
      runbook: 'Database connection leak, step 3.3 "Check for any open connections and close them"',
      action: 'lower idleTimeoutMs / min, or end them with `lifeguard cleanup --state idle --idle-for …`',
      subjects: [...groups.keys()],
    });
  }
  out.push(...unnamedFinding('pg', rows.filter((r) => r.applicationName === '').map(pgAddress), connected, 'Database connection leak, step 1 (who holds the connections)'));
  return out;
}

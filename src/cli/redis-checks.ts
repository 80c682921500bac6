/** The runbook checks of one Redis server: utilisation, rejected, blocked, pub/sub, idle and unnamed connections. */
import { bySubject, describeCounts, fleetFinding, pct, ratioSeverity, unnamedFinding } from './checks.js';
import type { Finding, Severity, Thresholds } from './findings.js';
import { groupConnections, redisClientRows, redisState } from './groups.js';
import { budgetKey, host, redisSubject } from './names.js';
import type { RedisSnapshot } from './rows.js';

export function redisFindings(s: RedisSnapshot, t: Thresholds, previous: RedisSnapshot | undefined): Finding[] {
  const out: Finding[] = [];
  const view = groupConnections(s);
  const rows = redisClientRows(s);
  const info = s.info;
  const connected = rows.length;
  const ratio = connected / info.maxclients;
  const sev = ratioSeverity(ratio, t);
  if (sev !== undefined) {
    out.push({
      id: 'redis-utilisation',
      server: 'redis',
      severity: sev,
      message: `${connected} of maxclients ${info.maxclients} connections in use (${pct(ratio)})`,
      numbers: { connected, maxclients: info.maxclients, ratio },
      runbook: 'Redis pool exhausted, step 1 "Check current Redis connection usage" and step 9 (connected_clients / maxclients > 0.8 warning, > 0.9 critical)',
      action: 'find who holds them below (step 2), then lower pool sizes or raise maxclients (step 3)',
      subjects: view.apps.map((a) => a.app),
    });
  }
  out.push(...fleetFinding('redis', view, s.budgets, t, 'maxclients', 'Redis pool exhausted, "Common causes: multiple application instances sharing single Redis instance" and step 3 "Increase maxclients limit"'));
  const rejectedSince = previous === undefined ? undefined : info.rejectedConnections - previous.info.rejectedConnections;
  if (info.rejectedConnections > 0 && (rejectedSince === undefined || rejectedSince > 0)) {
    out.push({
      id: 'redis-rejected-connections',
      server: 'redis',
      severity: rejectedSince !== undefined ? 'critical' : 'warning',
      message:
        rejectedSince !== undefined
          ? `${rejectedSince} connections rejected since the last refresh (maxclients reached); ${info.rejectedConnections} since the server started`
          : `${info.rejectedConnections} connections rejected since the server started (maxclients reached at some point)`,
      numbers: rejectedSince !== undefined ? { rejectedConnections: info.rejectedConnections, rejectedSinceLast: rejectedSince } : { rejectedConnections: info.rejectedConnections },
      runbook: 'Redis connection pool exhaustion, "Monitoring & Alerting": rejected_connections',
      action: 'run `lifeguard monitor` to see whether it is still growing; check the fleet budget and utilisation findings',
      subjects: [],
    });
  }
  // blocked clients and their share of each pool's budget
  const blocked = rows.filter((r) => redisState(r) === 'blocked');
  if (blocked.length > 0) {
    const groups = bySubject(blocked, redisSubject);
    const max = new Map(s.budgets.map((b) => [budgetKey(b), b.max]));
    const shares: Record<string, number> = {};
    let worst = 0;
    for (const [k, v] of groups) {
      const m = max.get(k);
      if (m !== undefined) {
        shares[`share:${k}`] = v.length / m;
        worst = Math.max(worst, v.length / m);
      }
    }
    const cmds = bySubject(blocked, (r) => r.cmd.toUpperCase());
    const severity: Severity = worst >= t.blockedShare || blocked.length > t.blockedClients ? 'warning' : 'info';
    out.push({
      id: 'redis-blocked',
      server: 'redis',
      severity,
      message:
        `${blocked.length} blocked clients (${describeCounts(cmds)}): ${describeCounts(groups)}` +
        (worst > 0 ? `; the worst holds ${pct(worst)} of its pool's budget blocked` : ''),
      numbers: { blocked: blocked.length, blockedClients: info.blockedClients, worstShare: worst, ...shares },
      runbook: 'Redis pool exhausted, step 8 "Check for blocked clients" (blocked_clients > 10: investigate)',
      action: 'use finite BLPOP/BRPOP/XREAD BLOCK timeouts and keep blocking consumers in a pool of their own so they cannot starve the rest',
      subjects: [...groups.keys()],
    });
  }
  // pub/sub connections, and their growth between refreshes
  const pubsub = rows.filter((r) => redisState(r) === 'pubsub');
  if (pubsub.length > 0) {
    const groups = bySubject(pubsub, redisSubject);
    const heavy = [...groups.entries()].filter(([, v]) => v.length > t.pubsubPerProcess);
    out.push({
      id: 'redis-pubsub',
      server: 'redis',
      severity: heavy.length > 0 ? 'warning' : 'info',
      message: `${pubsub.length} pub/sub connections: ${describeCounts(groups)}${heavy.length > 0 ? `; ${heavy.length} process(es) hold more than ${t.pubsubPerProcess}` : ''}`,
      numbers: { pubsub: pubsub.length, processes: groups.size },
      runbook: 'Redis connection pooling improvements, "Troubleshooting: High connection count": pub/sub subscriptions that are not cleaned up',
      action: 'one subscriber per process with many channels, not one connection per channel; close subscribers you no longer need (`cache.subscribers()` lists them with their sites)',
      subjects: [...groups.keys()],
    });
    if (previous !== undefined) {
      const before = bySubject(
        previous.clients.filter((r) => r.id !== previous.selfId && redisState(r) === 'pubsub'),
        redisSubject,
      );
      const grew = [...groups.entries()].filter(([k, v]) => v.length > (before.get(k)?.length ?? 0));
      if (grew.length > 0) {
        const added = grew.reduce((a, [k, v]) => a + v.length - (before.get(k)?.length ?? 0), 0);
        out.push({
          id: 'redis-pubsub-growth',
          server: 'redis',
          severity: 'warning',
          message: `pub/sub connections grew by ${added} since the last refresh: ${grew.map(([k, v]) => `${k} ${before.get(k)?.length ?? 0} → ${v.length}`).join(', ')}`,
          numbers: { added, pubsub: pubsub.length },
          runbook: 'Redis connection pooling improvements, "Pub/Sub management": resource tracking to prevent leaks',
          action: 'a subscriber opened per request or per message and never closed: look at `cache.subscribers()` (sites) in that process',
          subjects: grew.map(([k]) => k),
        });
      }
    }
  }
  const idle = rows.filter((r) => redisState(r) === 'idle' && r.idleS > t.idleS);
  if (idle.length > 0) {
    const groups = bySubject(idle, redisSubject);
    out.push({
      id: 'redis-idle',
      server: 'redis',
      severity: 'warning',
      message: `${idle.length} connections idle for more than ${t.idleS} s (longest ${Math.max(...idle.map((r) => r.idleS))} s): ${describeCounts(groups)}`,
      numbers: { idle: idle.length, thresholdS: t.idleS, longestS: Math.max(...idle.map((r) => r.idleS)) },
      runbook: 'Redis pool exhausted, step 7 "Identify and kill idle connections" (idle > 300 s)',
      action: 'connections held but unused: a leaked lease or a client outside any pool; `lifeguard cleanup --app … --idle-for …` ends them (dry run first)',
      subjects: [...groups.keys()],
    });
  }
  out.push(...unnamedFinding('redis', rows.filter((r) => r.name === '').map((r) => host(r.addr)), connected, 'Redis pool exhausted, step 2 "Identify connections by client" (count by name)'));
  return out;
}

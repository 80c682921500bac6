/** Plain-text tables and the doctor's readable report. */
import type { AdminSnapshot } from '../admin.js';
import type { Finding } from './findings.js';
import type { ServerView } from './groups.js';

/** A table row: its cells, and a key that identifies it across refreshes. */
export interface TableRow {
  readonly key: string;
  readonly cells: readonly string[];
}

/** Marks cells that changed since the previous refresh (monitor). */
export type Highlight = (rowKey: string, column: number, text: string) => string;

const NUMERIC = /^-?[\d.,]+( s)?%?$|^—$/;

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: readonly string[], rows: readonly TableRow[], highlight?: Highlight): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r.cells[i] ?? '').length)));
  const line = (cells: readonly string[], key: string | undefined): string =>
    cells
      .map((c, i) => {
        const w = widths[i] ?? c.length;
        const padded = i > 0 && NUMERIC.test(c) ? c.padStart(w) : c.padEnd(w);
        return key !== undefined && highlight ? highlight(key, i, padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [line(header, undefined), ...rows.map((r) => line(r.cells, r.key))];
}

const REDIS_STATES = ['active', 'idle', 'blocked', 'pubsub', 'multi'];
const PG_STATES = ['active', 'idle', 'idle in transaction', 'idle in transaction (aborted)'];

/** The state columns of a view: the usual ones for its server, then any other seen. */
export function stateColumns(view: ServerView): string[] {
  const base = view.server === 'redis' ? REDIS_STATES : PG_STATES;
  const extra = Object.keys(view.states).filter((s) => !base.includes(s));
  return [...base, ...extra.sort()];
}

function cell(n: number | undefined): string {
  return n === undefined || n === 0 ? '·' : String(n);
}

/** The app → pool → process table of one server. */
export function viewRows(view: ServerView): { header: string[]; rows: TableRow[] } {
  const states = stateColumns(view);
  const header = ['APP / POOL / PID', 'CONNS', 'MAX', ...states.map((s) => s.replace('idle in transaction', 'idle-in-tx').toUpperCase())];
  const rows: TableRow[] = [];
  const st = (m: Readonly<Record<string, number>>): string[] => states.map((s) => cell(m[s]));
  for (const a of view.apps) {
    rows.push({ key: `${view.server}|${a.app}`, cells: [a.app, String(a.connections), '', ...st(a.states)] });
    for (const p of a.pools) {
      const maxSum = p.processes.every((pr) => pr.max !== undefined) ? String(p.processes.reduce((x, pr) => x + (pr.max ?? 0), 0)) : '';
      rows.push({ key: `${view.server}|${a.app}|${p.pool}`, cells: [`  ${p.pool}`, String(p.connections), maxSum, ...st(p.states)] });
      for (const pr of p.processes) {
        rows.push({ key: `${view.server}|${a.app}|${p.pool}|${pr.pid}`, cells: [`    ${pr.pid}`, String(pr.connections), pr.max === undefined ? '?' : String(pr.max), ...st(pr.states)] });
      }
    }
  }
  if (view.other.length > 0) {
    const n = view.other.reduce((x, o) => x + o.connections, 0);
    rows.push({ key: `${view.server}|~other`, cells: ['not lifeguard', String(n), '', ...states.map(() => '')] });
    for (const o of view.other) {
      const label = o.name !== '' ? `  name=${o.name}` : `  unnamed ${o.address}`;
      rows.push({ key: `${view.server}|~other|${o.name}|${o.address}`, cells: [label, String(o.connections), '', ...st(o.states)] });
    }
  }
  return { header, rows };
}

/** The heading line of a server: target, connections against the limit, counts by state. */
export function viewHeading(view: ServerView): string {
  const limitName = view.server === 'redis' ? 'maxclients' : 'max_connections - reserved';
  const pct = view.limit > 0 ? ` (${Math.round((view.connections / view.limit) * 100)}%)` : '';
  const states = Object.entries(view.states)
    .map(([s, n]) => `${s} ${n}`)
    .join(' · ');
  return `${view.server === 'redis' ? 'Redis' : 'PostgreSQL'} ${view.target}: ${view.connections} of ${limitName} ${view.limit} connections${pct}${states ? `; ${states}` : ''}`;
}

const LABEL: Record<Finding['severity'], string> = { critical: 'CRITICAL', warning: 'WARNING ', info: 'INFO    ' };

function fmtNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** Findings as readable lines: severity, id, message, then the runbook step and the action. */
export function findingLines(list: readonly Finding[]): string[] {
  if (list.length === 0) return ['No findings.'];
  const out: string[] = [];
  for (const f of list) {
    out.push(`${LABEL[f.severity]} ${f.id}: ${f.message}`);
    out.push(`         numbers: ${Object.entries(f.numbers).map(([k, v]) => `${k}=${fmtNumber(v)}`).join(' ')}`);
    out.push(`         runbook: ${f.runbook}`);
    out.push(`         action:  ${f.action}`);
  }
  return out;
}

/** The doctor report as text. */
export function doctorText(views: readonly ServerView[], list: readonly Finding[], errors: readonly string[]): string {
  const out: string[] = [];
  for (const v of views) {
    out.push(viewHeading(v));
    const { header, rows } = viewRows(v);
    if (rows.length > 0) out.push(...table(header, rows).map((l) => `  ${l}`));
    out.push('');
  }
  for (const e of errors) out.push(`could not read ${e}`, '');
  out.push('Findings', ...findingLines(list).map((l) => `  ${l}`));
  return out.join('\n') + '\n';
}

function ageText(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** A running app's pools and leases, from its `lifeguard/http` endpoint. */
export function endpointLines(url: string, s: AdminSnapshot, highlight?: Highlight): string[] {
  const out = [`Endpoint ${url}: pid ${s.pid}, up ${s.uptimeS} s, ${s.pools.length} pool(s)`];
  const poolRows: TableRow[] = s.pools.map((p) => ({
    key: `ep|${url}|${p.driver}|${p.name}`,
    cells: [p.app ?? '?', p.name, p.driver, String(p.max), String(p.total), String(p.active), String(p.idle), String(p.pending), String(p.budget.available), p.circuit, p.healthy ? 'yes' : 'no'],
  }));
  out.push(...table(['APP', 'POOL', 'DRIVER', 'MAX', 'OPEN', 'ACTIVE', 'IDLE', 'WAITING', 'FREE', 'CIRCUIT', 'HEALTHY'], poolRows, highlight).map((l) => `  ${l}`));
  const leases = s.pools.flatMap((p) => p.leases.map((l) => ({ pool: p.name, l })));
  if (leases.length === 0) {
    out.push('  no leases out');
  } else {
    const rows: TableRow[] = leases.map(({ pool, l }) => ({
      key: `ep|${url}|lease|${pool}|${l.id}`,
      cells: [pool, `#${l.id}`, l.kind, ageText(l.ageMs), l.tag ?? '', l.site ?? (l.noSite ? `(no site: ${l.noSite})` : '')],
    }));
    out.push(...table(['POOL', 'LEASE', 'KIND', 'AGE', 'TAG', 'SITE'], rows).map((x) => `  ${x}`));
  }
  return out;
}

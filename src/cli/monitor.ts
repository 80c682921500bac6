/**
 * `lifeguard monitor`: doctor's view refreshed every `--interval` seconds. On a
 * terminal: a top-like screen with the cells that changed since the last refresh in
 * reverse video. Otherwise: plain lines, one block per refresh (or NDJSON with `--json`).
 */
import type { AdminSnapshot } from '../admin.js';
import { doctorReport, type DoctorReport } from './doctor.js';
import type { Thresholds } from './findings.js';
import { endpointLines, findingLines, table, viewHeading, viewRows, type Highlight } from './format.js';
import { Session, type Pass, type Targets } from './session.js';

/** Options of monitor. */
export interface MonitorOptions {
  /** Seconds between refreshes. @default 2 */
  readonly intervalS: number;
  /** Stop after this many refreshes. @default undefined (until Ctrl-C) */
  readonly count: number | undefined;
  /** NDJSON: one doctor report (plus `endpoints`) per line. @default false */
  readonly json: boolean;
  /** Draw the terminal screen (else plain lines). @default whether stdout is a TTY */
  readonly tty: boolean;
}

const CLEAR = '\x1b[H\x1b[2J';
const REVERSE = (s: string): string => `\x1b[7m${s}\x1b[27m`;

/** Remembers each cell's text; highlights those that differ from the last refresh. */
class Changes {
  #prev = new Map<string, string>();
  #next = new Map<string, string>();
  #first = true;

  readonly highlight: Highlight = (row, col, text) => {
    const k = `${row}\u0000${col}`;
    const t = text.trim();
    this.#next.set(k, t);
    const before = this.#prev.get(k);
    return !this.#first && before !== t ? REVERSE(text) : text;
  };

  commit(): void {
    this.#prev = this.#next;
    this.#next = new Map();
    this.#first = false;
  }
}

function screen(report: DoctorReport, endpoints: Pass['endpoints'], changes: Changes, n: number, intervalS: number): string {
  const out: string[] = [`lifeguard monitor, refresh ${n} every ${intervalS} s, ${report.time}; ${report.status}; Ctrl-C to quit`, ''];
  for (const v of report.servers) {
    out.push(viewHeading(v));
    const { header, rows } = viewRows(v);
    if (rows.length > 0) out.push(...table(header, rows, changes.highlight).map((l) => `  ${l}`));
    out.push('');
  }
  for (const e of endpoints) out.push(...endpointLines(e.url, e.snapshot, changes.highlight), '');
  for (const e of report.errors) out.push(`could not read ${e.message}`);
  out.push('Findings', ...findingLines(report.findings).map((l) => `  ${l}`));
  changes.commit();
  return out.join('\n') + '\n';
}

function plain(report: DoctorReport, endpoints: Pass['endpoints']): string {
  const t = report.time;
  const out: string[] = [];
  for (const v of report.servers) {
    const states = Object.entries(v.states).map(([s, n]) => `${s.replace(/ /g, '-')}=${n}`);
    out.push([t, v.server, v.target, `connections=${v.connections}/${v.limit}`, ...states].join(' '));
    for (const a of v.apps)
      for (const p of a.pools)
        for (const pr of p.processes) {
          const st = Object.entries(pr.states).map(([s, n]) => `${s.replace(/ /g, '-')}=${n}`);
          out.push([t, v.server, `${a.app}:${p.pool}:${pr.pid}`, `connections=${pr.connections}`, `max=${pr.max ?? '?'}`, ...st].join(' '));
        }
    for (const o of v.other) out.push([t, v.server, o.name !== '' ? `name=${o.name}` : `unnamed=${o.address}`, `connections=${o.connections}`].join(' '));
  }
  for (const e of endpoints) out.push(...endpointPlain(t, e.url, e.snapshot));
  for (const e of report.errors) out.push(`${t} error ${e.message}`);
  for (const f of report.findings) out.push(`${t} finding ${f.severity} ${f.id}: ${f.message}`);
  return out.join('\n') + '\n';
}

function endpointPlain(t: string, url: string, s: AdminSnapshot): string[] {
  const out: string[] = [];
  for (const p of s.pools) {
    out.push(`${t} endpoint ${url} pid=${s.pid} pool=${p.name} driver=${p.driver} max=${p.max} open=${p.total} active=${p.active} idle=${p.idle} waiting=${p.pending} circuit=${p.circuit}`);
    for (const l of p.leases) out.push(`${t} lease ${url} pool=${p.name} id=${l.id} kind=${l.kind} ageMs=${l.ageMs} tag=${JSON.stringify(l.tag ?? '')} site=${l.site ?? `(${l.noSite ?? 'none'})`}`);
  }
  return out;
}

/** Runs monitor until `count` refreshes or SIGINT / SIGTERM; returns the exit code (3 if the last pass could not read a target). */
export async function monitor(targets: Targets, thresholds: Thresholds, opts: MonitorOptions, out: NodeJS.WritableStream): Promise<number> {
  const session = new Session(targets);
  const changes = new Changes();
  let stop = false;
  let wake: (() => void) | undefined;
  const onSignal = (): void => {
    stop = true;
    wake?.();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let previous: Pass | undefined;
  let code = 0;
  try {
    for (let n = 1; !stop && (opts.count === undefined || n <= opts.count); n++) {
      const started = Date.now();
      const pass = await session.pass();
      const report = doctorReport(pass, thresholds, previous);
      code = report.exitCode === 3 ? 3 : 0;
      if (opts.json) out.write(JSON.stringify({ ...report, endpoints: pass.endpoints }) + '\n');
      else if (opts.tty) out.write(CLEAR + screen(report, pass.endpoints, changes, n, opts.intervalS));
      else out.write(plain(report, pass.endpoints));
      previous = pass;
      if (opts.count !== undefined && n >= opts.count) break;
      const wait = Math.max(0, opts.intervalS * 1000 - (Date.now() - started));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return code;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await session.close();
  }
}

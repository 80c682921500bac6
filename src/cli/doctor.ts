/** `lifeguard doctor`: one read-only pass, grouped connections and findings, exit code by severity. */
import { exitCodeOf, findings, type Finding, type Thresholds } from './findings.js';
import { groupConnections, type ServerView } from './groups.js';
import { doctorText } from './format.js';
import { Session, type Pass, type Targets } from './session.js';

/** The JSON doctor prints with `--json` (field names are stable; `version` changes if they do). */
export interface DoctorReport {
  /** Format version. @default 1 */
  readonly version: 1;
  /** ISO time of the pass. */
  readonly time: string;
  /** `ok` (nothing), `info` (notes only), `warning`, `critical`, or `error` (a server could not be read). */
  readonly status: 'ok' | 'info' | 'warning' | 'critical' | 'error';
  /** 0 nothing (or notes only), 1 warning, 2 critical, 3 a server could not be read. */
  readonly exitCode: 0 | 1 | 2 | 3;
  /** One per server read: connections grouped by app → pool → process, and the rest. */
  readonly servers: readonly ServerView[];
  /** Worst first. */
  readonly findings: readonly Finding[];
  /** Servers or endpoints that could not be read (password masked). */
  readonly errors: readonly { readonly server: string; readonly target: string; readonly message: string }[];
}

/** Builds the report of one pass. */
export function doctorReport(pass: Pass, thresholds: Thresholds, previous: Pass | undefined = undefined): DoctorReport {
  const list = findings(pass.snapshots, thresholds, previous?.snapshots ?? []);
  const code = pass.errors.length > 0 ? 3 : exitCodeOf(list);
  const status: DoctorReport['status'] =
    code === 3 ? 'error' : code === 2 ? 'critical' : code === 1 ? 'warning' : list.length > 0 ? 'info' : 'ok';
  return {
    version: 1,
    time: new Date(pass.snapshots[0]?.time ?? Date.now()).toISOString(),
    status,
    exitCode: code,
    servers: pass.snapshots.map(groupConnections),
    findings: list,
    errors: pass.errors.map((e) => ({ server: e.server, target: e.target, message: e.message })),
  };
}

/** Runs doctor: prints the report, returns the exit code. */
export async function doctor(targets: Targets, thresholds: Thresholds, json: boolean, out: NodeJS.WritableStream): Promise<number> {
  const session = new Session(targets);
  try {
    const pass = await session.pass();
    const report = doctorReport(pass, thresholds);
    if (json) out.write(JSON.stringify(report, null, 2) + '\n');
    else out.write(doctorText(report.servers, report.findings, report.errors.map((e) => e.message)));
    return report.exitCode;
  } finally {
    await session.close();
  }
}

/**
 * Prometheus's binaries for the deploy tests (Debian's `prometheus` package; `.ci/run`
 * installs it). Tests that need one are skipped, saying why, when it is missing.
 */
import { execFileSync } from 'node:child_process';

function which(bin: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const PROMTOOL = which('promtool');
export const PROMETHEUS = which('prometheus');

if (PROMTOOL === undefined || PROMETHEUS === undefined) {
  console.warn('deploy tests skipped: promtool / prometheus not on PATH (apt-get install prometheus; .ci/run does it)');
}

/** Grafana variables replaced by values, so a panel's query is plain PromQL. */
export function grafanaToPromQL(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replaceAll('$__interval', '1m')
    .replaceAll('$__range', '1h')
    .replace(/\$\{?(\w+)\}?/g, '.*');
}

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { grafanaToPromQL, PROMTOOL } from '../../helpers/promtool.js';

const root = new URL('../../../', import.meta.url).pathname;
const run = (args: string[]): string => execFileSync(PROMTOOL!, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe.skipIf(PROMTOOL === undefined)('deploy/prometheus and deploy/grafana', () => {
  it('promtool check rules accepts the alert and runbook-compat rule files', () => {
    const out = run(['check', 'rules', 'deploy/prometheus/alerts.yml', 'deploy/prometheus/runbook-compat.yml']);
    expect(out).toContain('SUCCESS: 8 rules found');
    expect(out).toContain('SUCCESS: 9 rules found');
  });

  it('promtool test rules: every alert fires on its condition and stays silent off it', () => {
    const out = run(['test', 'rules', 'deploy/prometheus/tests/alerts_test.yml']);
    expect(out).toContain('SUCCESS');
    const tests = readFileSync(join(root, 'deploy/prometheus/tests/alerts_test.yml'), 'utf8');
    const alerts = [...readFileSync(join(root, 'deploy/prometheus/alerts.yml'), 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]!);
    expect(alerts).toHaveLength(7);
    for (const a of alerts) {
      // each alert is tested firing (exp_alerts listing it) and silent (exp_alerts: [])
      expect(tests).toMatch(new RegExp(`alertname: ${a}\\n\\s+exp_alerts: \\[\\]`));
      expect(tests).toMatch(new RegExp(`alertname: ${a}\\n\\s+exp_alerts:\\n\\s+- exp_labels:`));
    }
  });

  it('every PromQL expression of the Grafana dashboard parses', () => {
    const dash = JSON.parse(readFileSync(join(root, 'deploy/grafana/lifeguard.json'), 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
    const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => grafanaToPromQL(t.expr)));
    expect(exprs.length).toBeGreaterThan(15);
    const dir = mkdtempSync(join(tmpdir(), 'lg-dash-'));
    try {
      const rules = exprs.map((e, i) => `      - record: dashboard:expr_${i}\n        expr: ${JSON.stringify(e)}`).join('\n');
      const file = join(dir, 'dashboard.yml');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules}\n`);
      expect(run(['check', 'rules', file])).toContain(`SUCCESS: ${exprs.length} rules found`);
      // and a broken one would be caught
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n      - record: x:y\n        expr: "sum by (le (rate(x[1m]))"\n`);
      expect(() => run(['check', 'rules', file])).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

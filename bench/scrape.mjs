// Scrape time of lifeguard/prometheus: `registry.metrics()` with N pools (fake clients,
// each with some history), median µs per scrape over many scrapes.
import { Registry } from 'prom-client';
import { arg, report, silent } from './common.mjs';
import { FakeClient } from './fake-client.mjs';

const impl = arg('impl');
const pools = Number(arg('pools', '20'));
const { createPgPool } = await import('../dist/index.js');
const { registerPrometheus } = await import('../dist/prometheus.js');
const registry = new Registry();
registerPrometheus(registry);
const created = [];
for (let i = 0; i < pools; i++) {
  const p = createPgPool({ Client: FakeClient, name: `pool_${i}`, max: 10, min: 2, logger: silent });
  for (let k = 0; k < 100; k++) (await p.acquire()).release();
  created.push(p);
}
const times = [];
let bytes = 0;
for (let i = 0; i < 1200; i++) {
  const t0 = performance.now();
  const text = await registry.metrics();
  const t = performance.now() - t0;
  if (i >= 200) times.push(t * 1000);
  bytes = text.length;
}
times.sort((a, b) => a - b);
const usPerScrape = times[times.length >> 1];
report({ impl, pools, usPerScrape, nsPerOp: usPerScrape * 1000, opsPerSec: 1e6 / usPerScrape, cpuPct: 100, bytes, lines: 0 });
await Promise.all(created.map((p) => p.end()));
process.exit(0);

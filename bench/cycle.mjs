// acquire + release with no I/O, pool max 10, pre-warmed; ns per cycle.
import genericPool from 'generic-pool';
import pg from 'pg';
import tarn from 'tarn';
import { arg, closedLoop, report, silent } from './common.mjs';
import { FakeClient } from './fake-client.mjs';

const impl = arg('impl');
const concurrency = Number(arg('concurrency', '1'));
const MAX = 10;

async function make() {
  switch (impl) {
    case 'generic-pool': {
      const p = genericPool.createPool({ create: async () => ({}), destroy: async () => {} }, { max: MAX });
      return { acquire: () => p.acquire(), release: (r) => p.release(r), end: () => p.drain().then(() => p.clear()) };
    }
    case 'tarn': {
      const p = new tarn.Pool({ create: (cb) => cb(null, {}), destroy: () => {}, min: 0, max: MAX });
      return { acquire: () => p.acquire().promise, release: (r) => p.release(r), end: () => p.destroy() };
    }
    case 'pg-pool': {
      const p = new pg.Pool({ Client: FakeClient, max: MAX });
      return { acquire: () => p.connect(), release: (c) => c.release(), end: () => p.end() };
    }
    default: {
      // lifeguard-before: the build of an earlier commit (BENCH_BASE_DIST), for paired costs of a change
      const dist = impl === 'lifeguard-before' ? process.env.BENCH_BASE_DIST : '../dist';
      const { createPgPool } = await import(`${dist}/index.js`);
      if (impl === 'lifeguard-prom') {
        const { Registry } = await import('prom-client');
        const { registerPrometheus } = await import('../dist/prometheus.js');
        registerPrometheus(new Registry());
      }
      const mode = { 'lifeguard-nostack': false, 'lifeguard-always': 'always', 'lifeguard-off': 'off' }[impl];
      const leakDetection = mode === 'off' ? false : mode === undefined ? {} : { captureStacks: mode };
      // NODE_ENV unset: the default capture mode is the production one ('sampled')
      const p = createPgPool({ Client: FakeClient, max: MAX, leakDetection, logger: silent });
      return { acquire: () => p.acquire(), release: (l) => l.release(), end: () => p.end() };
    }
  }
}

const pool = await make();
const warm = await Promise.all(Array.from({ length: MAX }, () => pool.acquire()));
warm.forEach((r) => pool.release(r));
const r = await closedLoop(async () => pool.release(await pool.acquire()), concurrency);
report({ impl, concurrency, ...r });
await pool.end();
process.exit(0);

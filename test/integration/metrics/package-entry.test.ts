import { createRequire } from 'node:module';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { testPgPool } from '../../helpers/pools.js';
import { unique } from '../../helpers/unique.js';

const require = createRequire(import.meta.url);

describe('lifeguard/prometheus as a package entry', () => {
  it('the built CommonJS exporter sees pools of every copy of lifeguard in the process', async () => {
    const { registerPrometheus } = require('../../../dist/prometheus.cjs') as typeof import('../../../src/metrics/prometheus.js');
    const lifeguard = require('../../../dist/index.cjs') as typeof import('../../../src/index.js');
    const registry = new Registry();
    const unregister = registerPrometheus(registry);
    const cjsPool = lifeguard.createPgPool({ connectionString: 'postgres://postgres@127.0.0.1:5432/test', name: unique('cjs'), logger: lifeguard.silentLogger });
    const { pool: srcPool } = testPgPool();
    try {
      await cjsPool.query('select 1');
      await srcPool.query('select 1');
      const text = await registry.metrics();
      for (const p of [cjsPool, srcPool]) {
        expect(text).toContain(`db_client_connection_wait_time_seconds_count{db_client_connection_pool_name="${p.name}",db_system_name="postgresql",server_address="127.0.0.1",server_port="5432"} 1`);
      }
    } finally {
      unregister();
      await cjsPool.close();
    }
  });
});

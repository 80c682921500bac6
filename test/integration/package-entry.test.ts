// The published entry points, as users load them (`npm test` builds first).
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { DATABASE_URL, REDIS_URL } from '../helpers/env.js';

const require = createRequire(import.meta.url);

describe('the built package', () => {
  it('works through require() (CommonJS), and lifeguard/testing sees its pools', async () => {
    const lg = require('../../dist/index.cjs') as typeof import('../../src/index.js');
    const testing = require('../../dist/testing.cjs') as typeof import('../../src/testing/index.js');
    const pg = require('pg') as typeof import('pg');
    const db = lg.createPgPool({ connectionString: DATABASE_URL, max: 2, logger: lg.silentLogger });
    const cache = lg.createRedisPool({ url: REDIS_URL, max: 2, logger: lg.silentLogger });
    try {
      expect(db).toBeInstanceOf(pg.Pool);
      expect((await db.query('select 1 as one')).rows[0].one).toBe(1);
      expect(await cache.withConnection((r) => r.ping())).toBe('PONG');
      const lease = await db.acquire({ tag: 'cjs' });
      expect(testing.leakReport().map((l) => l.tag)).toContain('cjs');
      lease.release();
      expect(testing.leakReport().filter((l) => l.tag === 'cjs')).toEqual([]);
    } finally {
      await Promise.all([db.close(), cache.close()]);
    }
  });

  it('works through import (ESM)', async () => {
    const lg = (await import('../../dist/index.js' as string)) as typeof import('../../src/index.js');
    const db = lg.createPgPool({ connectionString: DATABASE_URL, max: 2, logger: lg.silentLogger });
    try {
      expect((await db.query('select 2 as two')).rows[0].two).toBe(2);
      // errors from the built copy are LifeguardErrors of the source copy too
      const { PoolClosedError } = await import('../../src/index.js');
      await db.close();
      await expect(db.query('select 1')).rejects.toBeInstanceOf(PoolClosedError);
    } finally {
      await db.close();
    }
  });
});

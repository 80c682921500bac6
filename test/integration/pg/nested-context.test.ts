import { describe, expect, it } from 'vitest';
import { cheapContext } from '../../../src/core/context.js';
import { testPgPool } from '../../helpers/pools.js';

describe('nested-acquire detection outside a tagged request, in production capture mode', () => {
  it(`is on where an async context is cheap (Node >= 24), off before (this is Node ${process.versions.node})`, async () => {
    expect(cheapContext).toBe(Number(process.versions.node.split('.')[0]) >= 24);
    const { pool } = testPgPool({ max: 3, leakDetection: { captureStacks: 'sampled' } });
    const nested: string[] = [];
    pool.on('event', (e) => {
      if (e.type === 'nested-acquire') nested.push(e.type);
    });
    await pool.withConnection(async () => pool.query('select 1'));
    expect(nested).toHaveLength(cheapContext ? 1 : 0);
  });
});

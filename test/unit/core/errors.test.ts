import { describe, expect, it } from 'vitest';
import { ConfigError, LeaseReleasedError, LifeguardError, PoolClosedError, isLifeguardError } from '../../../src/core/errors.js';

describe('errors', () => {
  it('carry stable codes and match instanceof by class', () => {
    const e = new PoolClosedError('main');
    expect(e.code).toBe('POOL_CLOSED');
    expect(e).toBeInstanceOf(LifeguardError);
    expect(e).toBeInstanceOf(PoolClosedError);
    expect(e).not.toBeInstanceOf(ConfigError);
    expect(e).toBeInstanceOf(Error);
    expect(isLifeguardError(e)).toBe(true);
    expect(isLifeguardError(new Error('x'))).toBe(false);
    expect(e.pool).toBe('main');
    expect(e.name).toBe('PoolClosedError');
  });

  it('instanceof works for an error from another copy of the package', async () => {
    const other = (await import('../../../src/core/errors.js?copy=2' as string)) as typeof import('../../../src/core/errors.js');
    expect(other.PoolClosedError).not.toBe(PoolClosedError);
    const foreign = new other.LeaseReleasedError({ pool: 'p', leaseId: 1, what: 'query on', acquiredAt: undefined, releasedAt: undefined });
    expect(foreign).toBeInstanceOf(LeaseReleasedError);
    expect(foreign).toBeInstanceOf(LifeguardError);
    expect(foreign).not.toBeInstanceOf(PoolClosedError);
  });
});

import { describe, expect, it } from 'vitest';
import {
  AcquireTimeoutError,
  CircuitOpenError,
  ConfigError,
  ConnectionLimitError,
  LeakError,
  LeaseReleasedError,
  LifeguardError,
  PoolClosedError,
  QueueFullError,
  isLifeguardError,
} from '../../../src/core/errors.js';

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

const BRAND = Symbol.for('lifeguard.error');

describe('errors: instanceof by brand and code', () => {
  it('every class has a static code equal to its instances\' code, and a fixed name', async () => {
    const mod = await import('../../../src/core/errors.js');
    const classes = Object.entries(mod).filter(
      ([, v]) => typeof v === 'function' && v !== LifeguardError && (v as { prototype?: unknown }).prototype instanceof Error,
    ) as [string, { code: string; prototype: object }][];
    expect(classes.length).toBeGreaterThanOrEqual(11);
    const codes = new Set<string>();
    for (const [exportName, cls] of classes) {
      expect(typeof cls.code, exportName).toBe('string');
      codes.add(cls.code);
      // what matches is the brand and the code, not the prototype
      expect({ [BRAND]: true, code: cls.code }, exportName).toBeInstanceOf(cls as unknown as typeof LifeguardError);
      expect(Object.create(cls.prototype), exportName).not.toBeInstanceOf(cls as unknown as typeof LifeguardError);
    }
    expect(codes.size).toBe(classes.length);
    expect(new ConfigError('x').name).toBe('ConfigError');
    expect(new LeakError('x', 1).name).toBe('LeakError');
  });

  it('a plain object carrying the brand and a code matches the class of that code (a foreign copy)', () => {
    const foreign = { [BRAND]: true, code: 'ACQUIRE_TIMEOUT', name: 'x', message: 'm' };
    expect(foreign).toBeInstanceOf(LifeguardError);
    expect(foreign).toBeInstanceOf(AcquireTimeoutError);
    expect(foreign).not.toBeInstanceOf(QueueFullError);
    expect(isLifeguardError(foreign)).toBe(true);
    // the brand must be exactly true; the code alone is not enough
    expect({ code: 'ACQUIRE_TIMEOUT' }).not.toBeInstanceOf(AcquireTimeoutError);
    expect({ code: 'ACQUIRE_TIMEOUT' }).not.toBeInstanceOf(LifeguardError);
    expect({ [BRAND]: 'yes', code: 'ACQUIRE_TIMEOUT' }).not.toBeInstanceOf(LifeguardError);
    expect(isLifeguardError({ [BRAND]: 'yes' })).toBe(false);
    for (const v of [null, undefined, 0, 'ACQUIRE_TIMEOUT', new Error('x')]) {
      expect(v).not.toBeInstanceOf(LifeguardError);
      expect(v).not.toBeInstanceOf(ConfigError);
      expect(isLifeguardError(v)).toBe(false);
    }
  });

  it('instanceof holds between two copies of the module, both ways', async () => {
    const a = (await import('../../../src/core/errors.js?copy=a' as string)) as typeof import('../../../src/core/errors.js');
    const b = (await import('../../../src/core/errors.js?copy=b' as string)) as typeof import('../../../src/core/errors.js');
    expect(a.ConfigError).not.toBe(b.ConfigError);
    const fromA = new a.ConfigError('bad', { option: 'max' });
    const fromB = new b.QueueFullError('full', { pool: 'p', maxWaiting: 1, snapshot: { active: 1, idle: 0, waiting: 1, max: 1 } });
    expect(fromA).toBeInstanceOf(b.ConfigError);
    expect(fromA).toBeInstanceOf(ConfigError);
    expect(fromA).toBeInstanceOf(b.LifeguardError);
    expect(fromA).not.toBeInstanceOf(b.QueueFullError);
    expect(fromB).toBeInstanceOf(a.QueueFullError);
    expect(fromB).toBeInstanceOf(QueueFullError);
    expect(b.isLifeguardError(fromA) && a.isLifeguardError(fromB) && isLifeguardError(fromB)).toBe(true);
  });

  it('a subclass of a subclass matches its ancestors and keeps their code', () => {
    class AppTimeout extends AcquireTimeoutError {}
    class StrictAppTimeout extends AppTimeout {}
    const e = new StrictAppTimeout('waited', {
      pool: 'p',
      waitedMs: 5,
      reason: 'pool-full',
      snapshot: { active: 1, idle: 0, waiting: 1, max: 1 },
      nested: false,
    });
    expect(e).toBeInstanceOf(StrictAppTimeout);
    expect(e).toBeInstanceOf(AppTimeout);
    expect(e).toBeInstanceOf(AcquireTimeoutError);
    expect(e).toBeInstanceOf(LifeguardError);
    expect(e).toBeInstanceOf(Error);
    expect(e).not.toBeInstanceOf(CircuitOpenError);
    expect(e.code).toBe('ACQUIRE_TIMEOUT');
    expect(StrictAppTimeout.code).toBe('ACQUIRE_TIMEOUT');
    expect(e.name).toBe('AcquireTimeoutError');
    expect(e.waitedMs).toBe(5);
  });

  it('a user class extending the root directly, without a code, falls back to the prototype chain', () => {
    class Custom extends LifeguardError {
      readonly code = 'LEAK' as const;
    }
    const c = new Custom('x');
    expect(c).toBeInstanceOf(Custom);
    expect(c).toBeInstanceOf(LifeguardError);
    expect(new ConfigError('y')).not.toBeInstanceOf(Custom);
    expect(c.name).toBe('LifeguardError');
  });

  it('does not depend on class names (minified builds rename classes)', async () => {
    const m = (await import('../../../src/core/errors.js?copy=minified' as string)) as typeof import('../../../src/core/errors.js');
    // what a minifier does: the classes get short or empty names
    Object.defineProperty(m.PoolClosedError, 'name', { value: 'e' });
    Object.defineProperty(m.CircuitOpenError, 'name', { value: 'e' });
    Object.defineProperty(m.LifeguardError, 'name', { value: '' });
    const closed = new m.PoolClosedError('p');
    expect(closed.name).toBe('PoolClosedError');
    expect(closed).toBeInstanceOf(m.PoolClosedError);
    expect(closed).toBeInstanceOf(PoolClosedError);
    expect(closed).not.toBeInstanceOf(m.CircuitOpenError);
    expect(closed).toBeInstanceOf(m.LifeguardError);
    expect(new PoolClosedError('q')).toBeInstanceOf(m.PoolClosedError);
    expect(new CircuitOpenError('open', { pool: 'q', retryAfterMs: 1 })).not.toBeInstanceOf(m.PoolClosedError);
    // an anonymous subclass, as a minifier may leave it
    const Anon = (() => class extends m.PoolClosedError {})();
    expect(new Anon('r')).toBeInstanceOf(PoolClosedError);
    expect(new Anon('r').name).toBe('PoolClosedError');
  });

  it('keeps fields and messages', () => {
    const e = new LeaseReleasedError({ pool: 'p', leaseId: 3, what: 'query on', acquiredAt: 'a.ts:1', releasedAt: undefined, handle: 'listener' });
    expect(e.message).toBe('lifeguard: pool "p": query on listener #3 after it was closed (opened at a.ts:1)');
    expect(e.code).toBe('LEASE_RELEASED');
    expect(e.leaseId).toBe(3);
    expect(new PoolClosedError('p', 'detail').message).toBe('lifeguard: pool "p" is closed: detail');
    const cause = new Error('root');
    expect(new ConnectionLimitError('m', { pool: 'p', ceiling: 2, cause }).cause).toBe(cause);
  });
});

describe('argument errors are ConfigErrors naming the argument', () => {
  it('runWithTag with a tag that is not a string, or no function', async () => {
    const { runWithTag } = await import('../../../src/core/context.js');
    const err = (() => {
      try {
        runWithTag(42 as unknown as string, () => 1);
      } catch (e) {
        return e;
      }
    })() as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.option).toBe('tag');
    expect(err.message).toBe('lifeguard: runWithTag(tag, fn) needs a string tag, got 42');
    expect(() => runWithTag('t', 'nope' as unknown as () => void)).toThrow(ConfigError);
    expect(runWithTag('t', () => 7)).toBe(7);
  });

  it("the manager's on() with another event or a non-function listener", async () => {
    const { getPoolManager } = await import('../../../src/manager.js');
    const lg = getPoolManager();
    let err: unknown;
    try {
      lg.on('events' as 'event', () => {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).option).toBe('event');
    expect((err as ConfigError).message).toBe(`lifeguard: the manager emits only 'event', not "events"`);
    expect(() => lg.on('event', 'x' as unknown as () => void)).toThrow(ConfigError);
    const l = (): void => {};
    expect(lg.on('event', l).off('event', l)).toBe(lg);
  });
});

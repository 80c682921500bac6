// Compile-time checks of the public types (the typecheck step fails if one breaks).
import type pg from 'pg';
import type { Redis } from 'ioredis';
import { describe, expectTypeOf, it } from 'vitest';
import type {
  AcquireTimeoutError,
  CircuitOpenError,
  EventOf,
  LeaseInfo,
  LifeguardErrorCode,
  LifeguardEvent,
  LifeguardPgPool,
  LifeguardRedisPool,
  PgLease,
  PgPoolOptions,
  RedisLease,
} from '../../src/index.js';

describe('public types', () => {
  it('events narrow by type', () => {
    expectTypeOf<EventOf<'leak'>['kind']>().toEqualTypeOf<'held-too-long' | 'lost' | 'unreleased-at-close' | 'subscriber-lost'>();
    expectTypeOf<EventOf<'leak'>['lease']>().toEqualTypeOf<LeaseInfo>();
    expectTypeOf<EventOf<'circuit'>['to']>().toEqualTypeOf<'closed' | 'open' | 'half-open'>();
    expectTypeOf<EventOf<'acquire'>['waitMs']>().toEqualTypeOf<number>();
    expectTypeOf<LifeguardEvent['driver']>().toEqualTypeOf<'pg' | 'redis'>();
  });

  it('the pg pool is a pg.Pool with typed queries', () => {
    expectTypeOf<LifeguardPgPool>().toMatchTypeOf<pg.Pool>();
    expectTypeOf<ReturnType<LifeguardPgPool['connect']>>().toMatchTypeOf<Promise<pg.PoolClient> | void>();
    expectTypeOf<PgLease['client']['query']>().toEqualTypeOf<pg.PoolClient['query']>();
  });

  it('redis leases hand out ioredis clients', () => {
    expectTypeOf<RedisLease['client']>().toEqualTypeOf<Redis>();
    expectTypeOf<LifeguardRedisPool['client']>().toEqualTypeOf<Redis>();
  });

  it('errors carry their codes and fields', () => {
    expectTypeOf<AcquireTimeoutError['code']>().toEqualTypeOf<'ACQUIRE_TIMEOUT'>();
    expectTypeOf<AcquireTimeoutError['reason']>().toEqualTypeOf<'pool-full' | 'connect-failing' | 'circuit-open'>();
    expectTypeOf<CircuitOpenError['retryAfterMs']>().toEqualTypeOf<number>();
    expectTypeOf<'LEAK'>().toMatchTypeOf<LifeguardErrorCode>();
  });

  it('options reject unknown keys at compile time too', () => {
    // @ts-expect-error not an option
    const bad: PgPoolOptions = { maxConnections: 5 };
    void bad;
    expectTypeOf<PgPoolOptions['leakDetection']>().toMatchTypeOf<false | object | undefined>();
  });
});

/**
 * lifeguard: instrumented, leak-detecting connection pools for PostgreSQL and Redis.
 */
export { getPoolManager, PoolManager, type EnvPools } from './manager.js';
export { createRedisPool, LifeguardRedisPool, type RedisLease, type DedicatedOptions } from './redis/pool.js';
export { Subscriber, DedicatedConnection, type MessageHandler } from './redis/subscriber.js';
export type { RedisPoolOptions } from './redis/options.js';
// issue 17: cluster, sentinel, duplicate(), PgBouncer
export type { RedisClusterOptions, RedisNodeStats } from './redis/cluster.js';
export type { RedisSentinelOptions, SentinelAddress } from './redis/sentinel.js';
export type { RedisClient } from './redis/topology.js';
export type { PgBouncerMode, PgBouncerOptions } from './pg/bouncer.js';
export { BudgetExhaustedError, PgBouncerUnsupportedError, type PgBouncerFeature } from './core/errors.js';
export type { DedicatedInfo } from './core/dedicated.js';
export { fullJitter } from './core/backoff.js';
export { redisOptionsFromEnv, pgOptionsFromEnv } from './env.js';
export { createPgPool, LifeguardPgPool, type PgLease, type PgConnectCallback } from './pg/pool.js';
export type { PgPoolClient } from './pg/client.js';
export { PgListener, type NotificationHandler } from './pg/listener.js';
export type { PgPoolOptions } from './pg/options.js';
export type { IsolationLevel, TransactionOptions } from './pg/transaction.js';
export { isConnectionError as isPgConnectionError } from './pg/driver.js';
export { Lease } from './core/lease.js';
export { runWithTag, currentTag } from './core/context.js';
export {
  LifeguardError,
  AcquireTimeoutError,
  CircuitOpenError,
  PoolClosedError,
  LeaseReleasedError,
  ConfigError,
  LeakError,
  NestedAcquireError,
  QueueFullError,
  ConnectionLimitError,
  isLifeguardError,
  type LifeguardErrorCode,
  type AcquireTimeoutCause,
  type PoolSnapshot,
} from './core/errors.js';
export type {
  LifeguardEvent,
  LifeguardEventType,
  EventOf,
  EventListener,
  LeaseInfo,
  DriverKind,
  DestroyReason,
  CircuitState,
} from './core/events.js';
export type {
  CommonPoolOptions,
  LeakDetectionOptions,
  CaptureStacks,
  NestedAcquirePolicy,
  SaturationOptions,
  AcquireOptions,
} from './core/options.js';
export type { PoolStats, CloseResult } from './core/pool.js';
export type { NoSiteReason } from './core/site.js';
export type { Percentiles } from './core/histogram.js';
export type { Logger } from './core/logger.js';
export { silentLogger } from './core/logger.js';
export { redactUrl } from './core/redact.js';
export { requestTag, tagRequests, withRequestTag, type TaggableRequest, type TagOptions } from './http.js';
export {
  ACQUIRE_CHANNEL,
  LEAK_CHANNEL,
  CIRCUIT_CHANNEL,
  type AcquireMessage,
  type LeakMessage,
  type CircuitMessage,
} from './core/channels.js';
export { DURATION_BUCKETS_S } from './core/histogram.js';
export type { LeakKind } from './core/meter.js';

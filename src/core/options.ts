/**
 * Options every pool takes: their public types, where each option is documented,
 * and the entry points that resolve them. The defaults and checks are declared in
 * option-specs.ts, value checking is option-check.ts, the environment option-env.ts.
 * All durations are milliseconds.
 */
import { ConfigError } from './errors.js';
import type { ReconnectOptions } from './backoff.js';
import type { CircuitBreakerOptions } from './breaker.js';
import type { Logger } from './logger.js';
import { OptionChecker, isSafeName } from './option-check.js';
import { COMMON, COMMON_KEYS, LEAK_DETECTION, resolveFields, resolveGroup } from './option-specs.js';

export { MAX_CONNECTIONS, MAX_DURATION_MS, MAX_NAME_LENGTH, MAX_WAITING_LIMIT, OptionChecker, show } from './option-check.js';
export { underTestRunner } from './option-env.js';
export { COMMON_KEYS } from './option-specs.js';

/** Health-check settings. */
export interface HealthCheckOptions {
  /**
   * How often to check (a `SELECT 1` on a pooled connection, a `PING` on the shared
   * Redis client).
   * @default 30000
   */
  intervalMs?: number;
  /**
   * Consecutive failed checks before the pool reports itself unhealthy.
   * @default 3
   */
  failureThreshold?: number;
}

/** Where and how often acquisition stacks are captured. */
export type CaptureStacks = 'always' | 'sampled' | false;

/** Leak detection settings. */
export interface LeakDetectionOptions {
  /**
   * A lease held longer than this is reported once as `held-too-long`.
   * @default `LIFEGUARD_LEAK_THRESHOLD_MS`, else 30000
   */
  thresholdMs?: number;
  /**
   * Capture the acquisition stack on every acquire (`'always'`), on a sample of them
   * (`'sampled'`: `sampleRate`, plus every acquire for a while after a leak or an
   * acquire timeout that had no site), or never (`false`).
   * @default `'always'` under a test runner (vitest, jest, `node --test`, mocha, `NODE_ENV=test`), else `'sampled'`
   */
  captureStacks?: CaptureStacks;
  /**
   * Fraction of acquires captured in `'sampled'` mode, 0–1.
   * @default 0.02
   */
  sampleRate?: number;
  /**
   * Frames kept per capture (user frames; lifeguard's own are cut off first).
   * @default 10
   */
  stackTraceLimit?: number;
  /**
   * Frames passed over when the site is picked, besides lifeguard's own, Node's and
   * `node_modules`: a string matches a frame that contains it, a RegExp one it
   * matches. For a team's own db-helper wrapper, e.g. `['src/db/helpers.ts']`.
   * @default []
   */
  ignoreFrames?: readonly (string | RegExp)[];
}

/** What to do when an async context that holds a lease of a pool acquires another. */
export type NestedAcquirePolicy = 'warn' | 'throw' | 'ignore';

/** Utilization thresholds of the `saturation` event, as fractions of `max`. */
export interface SaturationOptions {
  /** @default 0.8 */
  warn?: number;
  /** @default 0.9 */
  critical?: number;
}

/** Options every pool takes. */
export interface CommonPoolOptions {
  /**
   * Pool name, used in events, errors and the server-side connection name.
   * @default 'default'
   */
  name?: string;
  /**
   * Application name, the prefix of every server-side connection name.
   * @default `npm_package_name`, else the `name` of the nearest package.json (above the
   * main module, else the working directory), else the main script's file name, else 'app'
   */
  app?: string;
  /**
   * Connections kept open even when idle.
   * @default 0
   */
  min?: number;
  /**
   * The pool's whole connection budget (pooled, shared, dedicated, listener and
   * subscriber connections together).
   * @default 10
   */
  max?: number;
  /**
   * How long `acquire` waits for a connection before `ACQUIRE_TIMEOUT`.
   * @default 10000
   */
  acquireTimeoutMs?: number;
  /**
   * At most this many acquires wait for a connection at once; one more is rejected
   * at once with `QUEUE_FULL`. 0 means no acquire waits (fail fast when none is free).
   * @default 10000
   */
  maxWaiting?: number;
  /**
   * How long opening one connection may take.
   * @default 5000
   */
  connectTimeoutMs?: number;
  /**
   * An idle connection above `min` is closed after this long; 0 keeps it.
   * @default 30000
   */
  idleTimeoutMs?: number;
  /**
   * A connection is closed (when idle) after this age, minus up to 10% jitter so
   * connections do not expire together; 0 disables.
   * @default 1800000 (30 minutes)
   */
  maxLifetimeMs?: number;
  /**
   * A connection is closed after serving this many leases; 0 disables.
   * @default 0
   */
  maxUses?: number;
  /**
   * Leak detection; `false` turns it off and costs nothing.
   * @default `{}` (all defaults above)
   */
  leakDetection?: LeakDetectionOptions | false;
  /**
   * The nested-acquire deadlock: `'warn'` emits `nested-acquire` and logs once per
   * pair of sites, `'throw'` rejects the acquire, `'ignore'` does neither.
   * @default 'warn'
   */
  onNestedAcquire?: NestedAcquirePolicy;
  /**
   * Reconnect backoff (exponential with full jitter) for opening connections after a
   * failure, and for every Redis connection's reconnects.
   * @default { baseMs: 50, maxMs: 5000, maxAttempts: 0 }
   */
  reconnect?: ReconnectOptions;
  /**
   * Circuit breaker over connection-level failures; `false` disables it.
   * @default { failureThreshold: 5, resetTimeoutMs: 10000, openAfterMs: 1000 }
   */
  circuitBreaker?: CircuitBreakerOptions | false;
  /**
   * Periodic health check; `health` events and log lines only when the state changes.
   * `false` disables it.
   * @default { intervalMs: 30000, failureThreshold: 3 }
   */
  healthCheck?: HealthCheckOptions | false;
  /**
   * Utilization thresholds of the `saturation` event; `false` disables it.
   * @default { warn: 0.8, critical: 0.9 }
   */
  saturation?: SaturationOptions | false;
  /**
   * Where lifeguard logs (leaks, errors, state changes). Pino and winston fit.
   * @default console
   */
  logger?: Logger;
}

/** Leak detection with every field present. */
export interface ResolvedLeakDetection {
  readonly thresholdMs: number;
  readonly captureStacks: CaptureStacks;
  readonly sampleRate: number;
  readonly stackTraceLimit: number;
  readonly ignoreFrames: readonly (string | RegExp)[];
}

/** Nested options with every field present. */
export type ResolvedReconnect = Readonly<Required<ReconnectOptions>>;
export type ResolvedBreaker = Readonly<Required<CircuitBreakerOptions>>;
export type ResolvedHealthCheck = Readonly<Required<HealthCheckOptions>>;
export type ResolvedSaturation = Readonly<Required<SaturationOptions>>;

/** Common options with every field present, checked and frozen. */
export interface ResolvedCommonOptions {
  readonly name: string;
  readonly app: string;
  readonly min: number;
  readonly max: number;
  readonly acquireTimeoutMs: number;
  readonly maxWaiting: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxLifetimeMs: number;
  readonly maxUses: number;
  readonly leakDetection: ResolvedLeakDetection | false;
  readonly onNestedAcquire: NestedAcquirePolicy;
  readonly reconnect: ResolvedReconnect;
  readonly circuitBreaker: ResolvedBreaker | false;
  readonly healthCheck: ResolvedHealthCheck | false;
  readonly saturation: ResolvedSaturation | false;
  readonly logger: Logger;
}

/** Leak-detection defaults, read from the environment at pool creation. */
export function leakDefaults(env: NodeJS.ProcessEnv = process.env): ResolvedLeakDetection {
  return resolveGroup(LEAK_DETECTION, {}, 'leakDetection', new OptionChecker(COMMON.name.default as string), env) as ResolvedLeakDetection;
}

/**
 * The start of every driver's option resolution: `input` must be an object of known
 * keys; returns it, a checker naming the pool, and its common options.
 */
export function splitOptions(
  input: unknown,
  driver: string,
  allowed: ReadonlySet<string>,
  hint: string,
): { raw: Record<string, unknown>; c: OptionChecker; common: Record<string, unknown> } {
  if (typeof input !== 'object' || input === null) {
    throw new ConfigError(`lifeguard: ${driver} pool options must be an object, got ${input === null ? 'null' : typeof input}`);
  }
  const raw = input as Record<string, unknown>;
  const c = new OptionChecker(isSafeName(raw.name) ? raw.name : (COMMON.name.default as string));
  c.unknownKeys('', raw, allowed, hint);
  const common: Record<string, unknown> = {};
  for (const k of COMMON_KEYS) common[k] = raw[k];
  return { raw, c, common };
}

/**
 * Resolves the common options out of `input` (other keys are the adapter's), as
 * declared in option-specs.ts. Throws `ConfigError` naming the option and the value.
 */
export function resolveCommonOptions(
  input: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedCommonOptions {
  // the name first: every other message names the pool
  const { name: nameField, ...rest } = COMMON;
  const name = resolveFields<ResolvedCommonOptions>({ name: nameField }, input, '', new OptionChecker('?'), env).name;
  return Object.freeze(resolveFields<ResolvedCommonOptions>(rest, input, '', new OptionChecker(name), env, { name }));
}

/** Options for one acquire. */
export interface AcquireOptions {
  /**
   * How long to wait for a connection.
   * @default the pool's `acquireTimeoutMs`
   */
  timeoutMs?: number;
  /** Aborting removes the waiting acquire from the queue at once. */
  signal?: AbortSignal;
  /**
   * Attribution for leak reports and timeouts, e.g. `'GET /users'`.
   * @default the tag of the current `runWithTag` scope
   */
  tag?: string;
}

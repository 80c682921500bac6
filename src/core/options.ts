/**
 * Options shared by every pool kind: declared once, each default documented, the
 * allowed keys derived from the defaults, every value checked. All durations are
 * milliseconds.
 */
import { defaultAppName } from './app-name.js';
import { ConfigError } from './errors.js';
import type { ReconnectOptions } from './backoff.js';
import type { CircuitBreakerOptions } from './breaker.js';
import type { Logger } from './logger.js';
import { escapeText, hasUnsafeChars } from './text.js';

/** The longest duration any option takes: 2³¹−1 ms (about 24.8 days), the most a Node timer can wait. */
export const MAX_DURATION_MS = 2_147_483_647;
/** The largest connection budget (`max`) a pool takes. */
export const MAX_CONNECTIONS = 10_000;
/** The largest `maxWaiting` a pool takes. */
export const MAX_WAITING_LIMIT = 1_000_000;
/** The longest pool name or app name. */
export const MAX_NAME_LENGTH = 200;

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
  readonly reconnect: Readonly<Required<ReconnectOptions>>;
  readonly circuitBreaker: Readonly<Required<CircuitBreakerOptions>> | false;
  readonly healthCheck: Readonly<Required<HealthCheckOptions>> | false;
  readonly saturation: Readonly<Required<SaturationOptions>> | false;
  readonly logger: Logger;
}

/** The defaults, one place. `leakDetection` fields come from {@link leakDefaults}. */
export const DEFAULTS = Object.freeze({
  name: 'default',
  app: undefined as string | undefined,
  min: 0,
  max: 10,
  acquireTimeoutMs: 10_000,
  maxWaiting: 10_000,
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  maxLifetimeMs: 30 * 60_000,
  maxUses: 0,
  leakDetection: {} as LeakDetectionOptions | false,
  onNestedAcquire: 'warn' as NestedAcquirePolicy,
  reconnect: { baseMs: 50, maxMs: 5000, maxAttempts: 0 } as ReconnectOptions,
  circuitBreaker: { failureThreshold: 5, resetTimeoutMs: 10_000, openAfterMs: 1000 } as CircuitBreakerOptions | false,
  healthCheck: { intervalMs: 30_000, failureThreshold: 3 } as HealthCheckOptions | false,
  saturation: { warn: 0.8, critical: 0.9 } as SaturationOptions | false,
  logger: console as Logger,
});

/** Every common option name. */
export const COMMON_KEYS: ReadonlySet<string> = new Set(Object.keys(DEFAULTS));
const LEAK_KEYS: ReadonlySet<string> = new Set(['thresholdMs', 'captureStacks', 'sampleRate', 'stackTraceLimit', 'ignoreFrames']);
const SATURATION_KEYS: ReadonlySet<string> = new Set(['warn', 'critical']);
const RECONNECT_KEYS: ReadonlySet<string> = new Set(['baseMs', 'maxMs', 'maxAttempts']);
const BREAKER_KEYS: ReadonlySet<string> = new Set(['failureThreshold', 'resetTimeoutMs', 'openAfterMs']);
const HEALTH_KEYS: ReadonlySet<string> = new Set(['intervalMs', 'failureThreshold']);

/** True when running under a test runner: stacks are then captured on every acquire. */
export function underTestRunner(env: NodeJS.ProcessEnv = process.env): boolean {
  return (
    env.VITEST !== undefined ||
    env.JEST_WORKER_ID !== undefined ||
    env.NODE_TEST_CONTEXT !== undefined ||
    env.NODE_ENV === 'test' ||
    // mocha and jasmine set no variable; their globals are there while test files load
    (env === process.env && typeof (globalThis as { describe?: unknown }).describe === 'function' && typeof (globalThis as { it?: unknown }).it === 'function')
  );
}

/** Leak-detection defaults, read from the environment at pool creation. */
export function leakDefaults(env: NodeJS.ProcessEnv = process.env): ResolvedLeakDetection {
  const raw = env.LIFEGUARD_LEAK_THRESHOLD_MS;
  let thresholdMs = 30_000;
  if (raw !== undefined && raw !== '') {
    const n = /^[0-9]{1,10}$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isInteger(n) || n <= 0 || n > MAX_DURATION_MS) {
      throw new ConfigError(
        `lifeguard: environment variable LIFEGUARD_LEAK_THRESHOLD_MS must be an integer from 1 to ${MAX_DURATION_MS} (milliseconds), got ${show(raw)}`,
        { envVar: 'LIFEGUARD_LEAK_THRESHOLD_MS' },
      );
    }
    thresholdMs = n;
  }
  return {
    thresholdMs,
    captureStacks: underTestRunner(env) ? 'always' : 'sampled',
    sampleRate: 0.02,
    stackTraceLimit: 10,
    ignoreFrames: [],
  };
}

function frameMatchers(c: OptionChecker, value: unknown): readonly (string | RegExp)[] {
  const ok = Array.isArray(value) && value.every((m) => (typeof m === 'string' && m.length > 0) || m instanceof RegExp);
  if (!ok) c.fail('leakDetection.ignoreFrames', 'an array of non-empty strings and RegExps', value);
  return Object.freeze([...(value as (string | RegExp)[])]);
}

/** Checks values and builds `ConfigError`s that name the pool, the option and the value. */
export class OptionChecker {
  constructor(readonly pool: string) {}

  fail(option: string, expected: string, value: unknown): never {
    throw new ConfigError(`lifeguard: pool "${this.pool}": option ${option} must be ${expected}, got ${show(value)}`, {
      pool: this.pool,
      option,
    });
  }

  int(option: string, value: unknown, min: number, max: number = Number.MAX_SAFE_INTEGER): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(option, max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`, value);
    }
    return value;
  }

  /** A duration in milliseconds: an integer from `min` to {@link MAX_DURATION_MS}. */
  ms(option: string, value: unknown, min: number): number {
    return this.int(option, value, min, MAX_DURATION_MS);
  }

  /** A pool or app name: a non-empty string of at most 200 characters, without control or bidi characters. */
  name(option: string, value: unknown): string {
    const s = this.string(option, value);
    if (s.length > MAX_NAME_LENGTH || hasUnsafeChars(s)) {
      this.fail(option, `a string of at most ${MAX_NAME_LENGTH} characters without control, line-separator or bidi characters`, value);
    }
    return s;
  }

  fraction(option: string, value: unknown): number {
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) this.fail(option, 'a number from 0 to 1', value);
    return value;
  }

  oneOf<T>(option: string, value: unknown, allowed: readonly T[]): T {
    if (!allowed.includes(value as T)) this.fail(option, `one of ${allowed.map(show).join(', ')}`, value);
    return value as T;
  }

  string(option: string, value: unknown): string {
    if (typeof value !== 'string' || value.length === 0) this.fail(option, 'a non-empty string', value);
    return value;
  }

  object(option: string, value: unknown): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(option, 'an object', value);
    return value as Record<string, unknown>;
  }

  unknownKeys(prefix: string, obj: Record<string, unknown>, allowed: ReadonlySet<string>, hint?: string): void {
    for (const key of Object.keys(obj)) {
      if (!allowed.has(key) && obj[key] !== undefined) {
        throw new ConfigError(
          `lifeguard: pool "${this.pool}": unknown option ${prefix}${key}` +
            (hint ? ` (${hint})` : ` (allowed: ${[...allowed].join(', ')})`),
          { pool: this.pool, option: prefix + key },
        );
      }
    }
  }
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
  const c = new OptionChecker(typeof raw.name === 'string' && raw.name.length <= MAX_NAME_LENGTH && !hasUnsafeChars(raw.name) ? raw.name : 'default');
  c.unknownKeys('', raw, allowed, hint);
  const common: Record<string, unknown> = {};
  for (const k of COMMON_KEYS) common[k] = raw[k];
  return { raw, c, common };
}

/** Shows a value in an error message; strings are quoted, long ones cut. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `"${escapeText(value, 80)}"`;
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object' && value !== null) return Array.isArray(value) ? 'an array' : 'an object';
  return String(value);
}

/**
 * Resolves the common options out of `input` (other keys are the adapter's).
 * Throws `ConfigError` naming the option and the value.
 */
export function resolveCommonOptions(
  input: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): ResolvedCommonOptions {
  const name = input.name === undefined ? DEFAULTS.name : new OptionChecker('?').name('name', input.name);
  const c = new OptionChecker(name);
  const get = <K extends keyof typeof DEFAULTS>(k: K): unknown => (input[k] === undefined ? DEFAULTS[k] : input[k]);

  const app =
    input.app === undefined ? defaultAppName({ env }) : c.name('app', input.app);
  const max = c.int('max', get('max'), 1, MAX_CONNECTIONS);
  const min = c.int('min', get('min'), 0);
  if (min > max) c.fail('min', `<= max (${max})`, min);
  const acquireTimeoutMs = c.ms('acquireTimeoutMs', get('acquireTimeoutMs'), 1);
  const maxWaiting = c.int('maxWaiting', get('maxWaiting'), 0, MAX_WAITING_LIMIT);
  const connectTimeoutMs = c.ms('connectTimeoutMs', get('connectTimeoutMs'), 1);
  const idleTimeoutMs = c.ms('idleTimeoutMs', get('idleTimeoutMs'), 0);
  const maxLifetimeMs = c.ms('maxLifetimeMs', get('maxLifetimeMs'), 0);
  const maxUses = c.int('maxUses', get('maxUses'), 0);
  const onNestedAcquire = c.oneOf('onNestedAcquire', get('onNestedAcquire'), ['warn', 'throw', 'ignore'] as const);

  let leakDetection: ResolvedLeakDetection | false = false;
  const ld = get('leakDetection');
  if (ld !== false) {
    const o = c.object('leakDetection', ld);
    c.unknownKeys('leakDetection.', o, LEAK_KEYS);
    const d = leakDefaults(env);
    leakDetection = Object.freeze({
      thresholdMs: o.thresholdMs === undefined ? d.thresholdMs : c.ms('leakDetection.thresholdMs', o.thresholdMs, 1),
      captureStacks:
        o.captureStacks === undefined
          ? d.captureStacks
          : c.oneOf('leakDetection.captureStacks', o.captureStacks, ['always', 'sampled', false] as const),
      sampleRate: o.sampleRate === undefined ? d.sampleRate : c.fraction('leakDetection.sampleRate', o.sampleRate),
      stackTraceLimit:
        o.stackTraceLimit === undefined
          ? d.stackTraceLimit
          : c.int('leakDetection.stackTraceLimit', o.stackTraceLimit, 1, 1000),
      ignoreFrames: o.ignoreFrames === undefined ? d.ignoreFrames : frameMatchers(c, o.ignoreFrames),
    });
  }

  let saturation: Readonly<Required<SaturationOptions>> | false = false;
  const sat = get('saturation');
  if (sat !== false) {
    const o = c.object('saturation', sat);
    c.unknownKeys('saturation.', o, SATURATION_KEYS);
    const warn = o.warn === undefined ? 0.8 : c.fraction('saturation.warn', o.warn);
    const critical = o.critical === undefined ? 0.9 : c.fraction('saturation.critical', o.critical);
    if (critical < warn) c.fail('saturation.critical', `>= saturation.warn (${warn})`, critical);
    saturation = Object.freeze({ warn, critical });
  }

  const rc = c.object('reconnect', get('reconnect'));
  c.unknownKeys('reconnect.', rc, RECONNECT_KEYS);
  const baseMs = rc.baseMs === undefined ? 50 : c.ms('reconnect.baseMs', rc.baseMs, 1);
  const maxMs = rc.maxMs === undefined ? Math.max(5000, baseMs) : c.ms('reconnect.maxMs', rc.maxMs, 1);
  if (maxMs < baseMs) c.fail('reconnect.maxMs', `an integer >= reconnect.baseMs (${baseMs})`, maxMs);
  const reconnect = Object.freeze({
    baseMs,
    maxMs,
    maxAttempts: rc.maxAttempts === undefined ? 0 : c.int('reconnect.maxAttempts', rc.maxAttempts, 0),
  });

  let circuitBreaker: Readonly<Required<CircuitBreakerOptions>> | false = false;
  const cb = get('circuitBreaker');
  if (cb !== false) {
    const o = c.object('circuitBreaker', cb);
    c.unknownKeys('circuitBreaker.', o, BREAKER_KEYS);
    circuitBreaker = Object.freeze({
      failureThreshold: o.failureThreshold === undefined ? 5 : c.int('circuitBreaker.failureThreshold', o.failureThreshold, 1),
      // the breaker waits up to 8 × resetTimeoutMs
      resetTimeoutMs: o.resetTimeoutMs === undefined ? 10_000 : c.int('circuitBreaker.resetTimeoutMs', o.resetTimeoutMs, 1, Math.floor(MAX_DURATION_MS / 8)),
      openAfterMs: o.openAfterMs === undefined ? 1000 : c.int('circuitBreaker.openAfterMs', o.openAfterMs, 0, MAX_DURATION_MS),
    });
  }

  let healthCheck: Readonly<Required<HealthCheckOptions>> | false = false;
  const hc = get('healthCheck');
  if (hc !== false) {
    const o = c.object('healthCheck', hc);
    c.unknownKeys('healthCheck.', o, HEALTH_KEYS);
    healthCheck = Object.freeze({
      intervalMs: o.intervalMs === undefined ? 30_000 : c.ms('healthCheck.intervalMs', o.intervalMs, 10),
      failureThreshold: o.failureThreshold === undefined ? 3 : c.int('healthCheck.failureThreshold', o.failureThreshold, 1),
    });
  }

  const logger = get('logger');
  if (
    typeof logger !== 'object' ||
    logger === null ||
    !['error', 'warn', 'info', 'debug'].every((m) => typeof (logger as Record<string, unknown>)[m] === 'function')
  ) {
    c.fail('logger', 'an object with error, warn, info and debug methods', logger);
  }

  return Object.freeze({
    name,
    app,
    min,
    max,
    acquireTimeoutMs,
    maxWaiting,
    connectTimeoutMs,
    idleTimeoutMs,
    maxLifetimeMs,
    maxUses,
    leakDetection,
    onNestedAcquire,
    reconnect,
    circuitBreaker,
    healthCheck,
    saturation,
    logger: logger as Logger,
  });
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

/**
 * Declarations of the options every pool takes, nested groups included: each
 * option's default and its check, written once. The accepted keys, the resolved
 * defaults and the `ConfigError` messages all derive from these tables. Each
 * option's doc is on its public type in options.ts; the tables are typed by the
 * resolved types there, so a key missing on either side does not compile.
 */
import { defaultAppName } from './app-name.js';
import type { Logger } from './logger.js';
import { MAX_CONNECTIONS, MAX_DURATION_MS, MAX_WAITING_LIMIT, type OptionChecker } from './option-check.js';
import { leakThresholdFromEnv, underTestRunner } from './option-env.js';
import type { ResolvedCommonOptions, ResolvedHealthCheck, ResolvedLeakDetection, ResolvedReconnect, ResolvedSaturation, ResolvedBreaker } from './options.js';

/** What a default or a check sees: the pool's checker, the environment, and the fields of its group resolved before it. */
export interface FieldContext<T> {
  readonly c: OptionChecker;
  readonly env: NodeJS.ProcessEnv;
  readonly done: Partial<T>;
  /** The option's full name. */
  readonly path: string;
}

/** One option. */
export interface Field<T, K extends keyof T> {
  /** The default, used as it is; a function when it depends on the environment or on a field declared before. */
  readonly default: T[K] | ((ctx: FieldContext<T>) => T[K]);
  /** Checks a given value; `path` is the option's full name (`reconnect.maxMs`). */
  readonly check: (value: unknown, path: string, ctx: FieldContext<T>) => T[K];
  /** Checks the value (given or default) against fields declared before it. */
  readonly relate?: (value: T[K], path: string, ctx: FieldContext<T>) => void;
}

/** The options of one group, in the order they are checked (and listed in messages). */
export type Fields<T> = { readonly [K in keyof T]-?: Field<T, K> };

/** A nested option (`reconnect`, `leakDetection`, …): an object of its own fields. */
export interface Group<T> {
  readonly fields: Fields<T>;
  /** The accepted keys, derived from `fields`. */
  readonly keys: ReadonlySet<string>;
  /** `false` turns the feature off. */
  readonly canDisable: boolean;
  /** Runs before the fields: checks the environment variables their defaults read, even when the option is given. */
  readonly checkEnv?: (env: NodeJS.ProcessEnv) => void;
}

function group<T>(fields: Fields<T>, init: { canDisable: boolean; checkEnv?: (env: NodeJS.ProcessEnv) => void }): Group<T> {
  return Object.freeze({ fields, keys: new Set(Object.keys(fields)), ...init });
}

// ---- checks, by kind ---------------------------------------------------------------------

type Check<V> = (value: unknown, path: string, ctx: { readonly c: OptionChecker }) => V;
const int =
  (min: number, max?: number): Check<number> =>
  (v, path, { c }) =>
    c.int(path, v, min, max);
const ms =
  (min: number): Check<number> =>
  (v, path, { c }) =>
    c.ms(path, v, min);
const fraction: Check<number> = (v, path, { c }) => c.fraction(path, v);
const oneOf =
  <V>(allowed: readonly V[]): Check<V> =>
  (v, path, { c }) =>
    c.oneOf(path, v, allowed);

const frameMatchers: Check<readonly (string | RegExp)[]> = (value, path, { c }) => {
  const ok = Array.isArray(value) && value.every((m) => (typeof m === 'string' && m.length > 0) || m instanceof RegExp);
  if (!ok) c.fail(path, 'an array of non-empty strings and RegExps', value);
  return Object.freeze([...(value as (string | RegExp)[])]);
};

const logger: Check<Logger> = (value, path, { c }) => {
  if (
    typeof value !== 'object' ||
    value === null ||
    !['error', 'warn', 'info', 'debug'].every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  ) {
    c.fail(path, 'an object with error, warn, info and debug methods', value);
  }
  return value as Logger;
};

// ---- nested options ----------------------------------------------------------------------

export const LEAK_DETECTION: Group<ResolvedLeakDetection> = group<ResolvedLeakDetection>(
  {
    thresholdMs: { default: ({ env }) => leakThresholdFromEnv(env) ?? 30_000, check: ms(1) },
    captureStacks: { default: ({ env }) => (underTestRunner(env) ? 'always' : 'sampled'), check: oneOf(['always', 'sampled', false] as const) },
    sampleRate: { default: 0.02, check: fraction },
    stackTraceLimit: { default: 10, check: int(1, 1000) },
    ignoreFrames: { default: Object.freeze([]), check: frameMatchers },
  },
  // a bad LIFEGUARD_LEAK_THRESHOLD_MS is an error even when thresholdMs is given
  { canDisable: true, checkEnv: leakThresholdFromEnv },
);

export const SATURATION: Group<ResolvedSaturation> = group<ResolvedSaturation>(
  {
    warn: { default: 0.8, check: fraction },
    critical: {
      default: 0.9,
      check: fraction,
      relate: (critical, path, { c, done }) => {
        if (critical < done.warn!) c.fail(path, `>= saturation.warn (${done.warn})`, critical);
      },
    },
  },
  { canDisable: true },
);

export const RECONNECT: Group<ResolvedReconnect> = group<ResolvedReconnect>(
  {
    baseMs: { default: 50, check: ms(1) },
    maxMs: {
      default: ({ done }) => Math.max(5000, done.baseMs!),
      check: ms(1),
      relate: (maxMs, path, { c, done }) => {
        if (maxMs < done.baseMs!) c.fail(path, `an integer >= reconnect.baseMs (${done.baseMs})`, maxMs);
      },
    },
    maxAttempts: { default: 0, check: int(0) },
  },
  { canDisable: false },
);

export const CIRCUIT_BREAKER: Group<ResolvedBreaker> = group<ResolvedBreaker>(
  {
    failureThreshold: { default: 5, check: int(1) },
    // the breaker waits up to 8 × resetTimeoutMs
    resetTimeoutMs: { default: 10_000, check: int(1, Math.floor(MAX_DURATION_MS / 8)) },
    openAfterMs: { default: 1000, check: int(0, MAX_DURATION_MS) },
  },
  { canDisable: true },
);

export const HEALTH_CHECK: Group<ResolvedHealthCheck> = group<ResolvedHealthCheck>(
  {
    intervalMs: { default: 30_000, check: ms(10) },
    failureThreshold: { default: 3, check: int(1) },
  },
  { canDisable: true },
);

/** Resolves a nested option: `false` (when the group allows it), or an object of known keys, each checked or defaulted. */
export function resolveGroup<T>(g: Group<T>, value: unknown, path: string, c: OptionChecker, env: NodeJS.ProcessEnv): Readonly<T> | false {
  if (value === false && g.canDisable) return false;
  const o = c.object(path, value);
  c.unknownKeys(`${path}.`, o, g.keys);
  g.checkEnv?.(env);
  return Object.freeze(resolveFields(g.fields, o, `${path}.`, c, env));
}

/** The field declaring nested option `g`: its default is the group's defaults (`{}`). */
function nested<P, K extends keyof P>(g: Group<Exclude<P[K], false>>): Field<P, K> {
  const resolve = (value: unknown, path: string, { c, env }: FieldContext<P>): P[K] => resolveGroup(g, value, path, c, env) as P[K];
  return { default: (ctx) => resolve({}, ctx.path, ctx), check: resolve };
}

// ---- options every pool takes ------------------------------------------------------------

/** Every common option, in the order they are checked. `name` is checked first, by itself (it names the pool in every other message). */
export const COMMON: Fields<ResolvedCommonOptions> = {
  name: { default: 'default', check: (v, path, { c }) => c.name(path, v) },
  app: { default: ({ env }) => defaultAppName({ env }), check: (v, path, { c }) => c.name(path, v) },
  max: { default: 10, check: int(1, MAX_CONNECTIONS) },
  min: {
    default: 0,
    check: int(0),
    relate: (min, path, { c, done }) => {
      if (min > done.max!) c.fail(path, `<= max (${done.max})`, min);
    },
  },
  acquireTimeoutMs: { default: 10_000, check: ms(1) },
  maxWaiting: { default: 10_000, check: int(0, MAX_WAITING_LIMIT) },
  connectTimeoutMs: { default: 5_000, check: ms(1) },
  idleTimeoutMs: { default: 30_000, check: ms(0) },
  maxLifetimeMs: { default: 30 * 60_000, check: ms(0) },
  maxUses: { default: 0, check: int(0) },
  onNestedAcquire: { default: 'warn', check: oneOf(['warn', 'throw', 'ignore'] as const) },
  leakDetection: nested(LEAK_DETECTION),
  saturation: nested(SATURATION),
  reconnect: nested(RECONNECT),
  circuitBreaker: nested(CIRCUIT_BREAKER),
  healthCheck: nested(HEALTH_CHECK),
  logger: { default: console, check: logger },
};

/** Every common option name. */
export const COMMON_KEYS: ReadonlySet<string> = new Set(Object.keys(COMMON));

/**
 * Resolves `fields` out of `input` in declaration order: a given value is checked,
 * a missing one defaulted; then each is related to the fields before it.
 */
export function resolveFields<T>(
  fields: { readonly [K in keyof T]?: Field<T, K> },
  input: Record<string, unknown>,
  prefix: string,
  c: OptionChecker,
  env: NodeJS.ProcessEnv,
  done: Partial<T> = {},
): T {
  for (const key of Object.keys(fields) as (keyof T & string)[]) {
    const f = fields[key]!;
    const path = prefix + key;
    const ctx = { c, env, done, path };
    const value = input[key] === undefined ? (typeof f.default === 'function' ? (f.default as (x: FieldContext<T>) => T[typeof key])(ctx) : f.default) : f.check(input[key], path, ctx);
    f.relate?.(value, path, ctx);
    (done as Record<string, unknown>)[key] = value;
  }
  // a copy: filled key by key, `done` has gone to dictionary mode (slow property reads on
  // the hot path, ~10% of an acquire+release); a spread copy has fast properties
  return { ...done } as T;
}

/**
 * The environment behind option defaults: `LIFEGUARD_LEAK_THRESHOLD_MS` and whether
 * a test runner is running (stacks are then captured on every acquire).
 */
import { ConfigError } from './errors.js';
import { MAX_DURATION_MS, show } from './option-check.js';

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

/**
 * `LIFEGUARD_LEAK_THRESHOLD_MS`, the default of `leakDetection.thresholdMs`; undefined
 * when unset or empty. A bad value is a `ConfigError` naming the variable.
 */
export function leakThresholdFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.LIFEGUARD_LEAK_THRESHOLD_MS;
  if (raw === undefined || raw === '') return undefined;
  const n = /^[0-9]{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n <= 0 || n > MAX_DURATION_MS) {
    throw new ConfigError(
      `lifeguard: environment variable LIFEGUARD_LEAK_THRESHOLD_MS must be an integer from 1 to ${MAX_DURATION_MS} (milliseconds), got ${show(raw)}`,
      { envVar: 'LIFEGUARD_LEAK_THRESHOLD_MS' },
    );
  }
  return n;
}

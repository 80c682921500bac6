/** The `ConfigError` that `fn` throws; fails the test when it throws nothing or something else. */
import { expect } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';

export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

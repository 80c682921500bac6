/**
 * vitest setup file: `setupFiles: ['lifeguard/vitest']`. After each test, a lease
 * still out fails that test (only that one) with the line that acquired it, and is
 * reclaimed so the next test starts clean.
 */
import { afterEach } from 'vitest';
import { assertNoLeaks } from './index.js';

afterEach(() => {
  assertNoLeaks({ reclaim: true });
});

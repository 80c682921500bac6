/**
 * vitest setup file: `setupFiles: ['lifeguard/vitest']`. After each test, a lease
 * still out fails that test (only that one) with the line that acquired it, and is
 * reclaimed so the next test starts clean.
 */
import { afterEach } from 'vitest';
import { assertNoLeaks, leakReport } from './index.js';

afterEach(async () => {
  // a scoped call still running takes its site a microtask after a report asks
  if (leakReport().length > 0) await new Promise((resolve) => setImmediate(resolve));
  assertNoLeaks({ reclaim: true });
});

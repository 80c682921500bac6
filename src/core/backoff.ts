/** Reconnect delays: exponential backoff with full jitter. Pure; tested without a clock. */

/** Backoff settings. */
export interface ReconnectOptions {
  /**
   * First delay ceiling.
   * @default 50
   */
  baseMs?: number;
  /**
   * Largest delay ceiling.
   * @default 5000
   */
  maxMs?: number;
  /**
   * Attempts before giving up on a connection; 0 means never give up.
   * @default 0
   */
  maxAttempts?: number;
}

/**
 * Delay before reconnect attempt `attempt` (1-based): uniformly random in
 * `[0, min(maxMs, baseMs * 2^(attempt-1))]`, so clients that lost the server together
 * do not come back together.
 */
export function fullJitter(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.floor(random() * (ceiling + 1));
}

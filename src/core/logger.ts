/**
 * The logger lifeguard writes to: anything with `warn`, `error`, `info` and `debug`
 * taking a message first (console, pino, winston and bunyan all fit).
 */
export interface Logger {
  error(message: string, ...meta: unknown[]): void;
  warn(message: string, ...meta: unknown[]): void;
  info(message: string, ...meta: unknown[]): void;
  debug(message: string, ...meta: unknown[]): void;
}

/** A logger that drops everything; handy in tests. */
export const silentLogger: Logger = Object.freeze({
  error() {},
  warn() {},
  info() {},
  debug() {},
});

/** Calls a logger method, swallowing anything a broken logger throws. */
export function safeLog(logger: Logger, level: keyof Logger, message: string): void {
  try {
    logger[level](message);
  } catch {
    // a logger must never break a pool
  }
}

/**
 * Token bucket for log lines: at most `burst` lines per `windowMs`; the rest are
 * counted and summarized in the next line that gets through.
 */
export class LogLimiter {
  #windowStart = 0;
  #count = 0;
  #suppressed = 0;
  constructor(
    readonly burst: number,
    readonly windowMs: number,
  ) {}

  /** Returns the number suppressed since the last line (>= 0), or -1 when this line must be dropped. */
  take(now: number): number {
    if (now - this.#windowStart >= this.windowMs) {
      this.#windowStart = now;
      this.#count = 0;
    }
    if (this.#count >= this.burst) {
      this.#suppressed++;
      return -1;
    }
    this.#count++;
    const s = this.#suppressed;
    this.#suppressed = 0;
    return s;
  }

  /** Logs `text` unless the burst is used up; the next line that gets through says how many were dropped. */
  write(logger: Logger, level: keyof Logger, text: string): void {
    const s = this.take(performance.now());
    if (s >= 0) safeLog(logger, level, s > 0 ? `${text} (${s} similar lines suppressed)` : text);
  }
}

/**
 * Periodic health checks of one pool: reports only state changes (healthy ->
 * unhealthy after `failureThreshold` failed checks in a row, back on the first
 * success), so an outage yields two events, not one per interval.
 */
import type { HealthCheckOptions } from './options.js';

export interface HealthCallbacks {
  /** Runs one check; rejects when unhealthy. */
  check(): Promise<void>;
  /** A check passed (the breaker hears of it). */
  onSuccess(): void;
  /** The state changed. */
  onChange(healthy: boolean, detail: string | undefined): void;
}

export class HealthMonitor {
  #healthy = true;
  #failures = 0;
  #running = false;
  #stopped = false;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    readonly options: Readonly<Required<HealthCheckOptions>>,
    readonly callbacks: HealthCallbacks,
  ) {
    this.#timer = setInterval(() => void this.tick(), options.intervalMs);
    this.#timer.unref();
  }

  /** The result of the checks so far (true until the threshold of failures). */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** Runs one check now, unless one is running. */
  async tick(): Promise<void> {
    if (this.#running || this.#stopped) return;
    this.#running = true;
    let detail: string | undefined;
    try {
      await this.callbacks.check();
    } catch (err) {
      detail = err instanceof Error ? err.message : String(err);
    } finally {
      this.#running = false;
    }
    if (this.#stopped) return;
    if (detail === undefined) {
      this.#failures = 0;
      this.callbacks.onSuccess();
      if (!this.#healthy) this.#set(true, undefined);
    } else if (++this.#failures >= this.options.failureThreshold && this.#healthy) {
      this.#set(false, detail);
    }
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  #set(healthy: boolean, detail: string | undefined): void {
    this.#healthy = healthy;
    this.callbacks.onChange(healthy, detail);
  }
}

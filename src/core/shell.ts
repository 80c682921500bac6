/**
 * What the pg and Redis pools share around the engine, held by composition (the pg
 * pool must extend `pg.Pool`): the event hub and registry wiring, the tracker of
 * subscribers / listeners / dedicated connections, `leases()`, `reclaim()`, `stats()`,
 * `withConnection`, the 'event' listeners, the rate-limited connection-error log, and
 * `close()` (one deadline for leases, then tracked handles, then the adapter's extras;
 * concurrent calls share one close). Knows no driver.
 */
import { poolClosed } from './closed.js';
import { DedicatedTracker } from './dedicated.js';
import { type DriverKind, type EventListener, EventHub, type LeaseInfo } from './events.js';
import { LogLimiter, type Logger, safeLog } from './logger.js';
import type { AcquireOptions } from './options.js';
import type { Lease } from './lease.js';
import type { ScopedCall } from './scoped.js';
import { CLOSE_GRACE_MS, type CloseResult, type CorePool, DEFAULT_CLOSE_TIMEOUT_MS, type PoolStats } from './pool.js';
import { scrubError } from './redact.js';
import { type RegisteredPool, registry } from './registry.js';

/** Internal: what the shell needs to know of its pool. */
export interface ShellOptions {
  readonly driver: DriverKind;
  readonly logger: Logger;
  /** Bounds each step of a close with no timeout (`end()`, `close({ timeoutMs: Infinity })`). */
  readonly connectTimeoutMs: number;
  /** Passwords to scrub from connection errors. */
  readonly secrets: readonly string[];
  /** How log lines name the pool, e.g. `redis pool` (then `"name"`). */
  readonly label: string;
  /** Where the pool connects, password masked. */
  readonly target: string;
  /** The `app` option. */
  readonly app: string;
}

/**
 * Internal: defines a pool class's `name`, `target` and `app` getters (declared in the
 * class) on its prototype; `shellOf` reads a pool's shell (from the class's static block).
 */
export function defineIdentity<P extends object>(proto: P, shellOf: (pool: P) => { readonly core: { readonly name: string }; readonly options: ShellOptions }): void {
  Object.defineProperties(proto, {
    name: { get: function (this: P) { return shellOf(this).core.name; }, configurable: true },
    target: { get: function (this: P) { return shellOf(this).options.target; }, configurable: true },
    app: { get: function (this: P) { return shellOf(this).options.app; }, configurable: true },
  });
}

type OnceWrapper = EventListener & { listener?: EventListener };
type Entry = (...args: never[]) => unknown;

/** Internal: the part of a pool that does not depend on its driver. */
export class PoolShell<C, F> {
  readonly core: CorePool<C, F>;
  readonly hub: EventHub;
  readonly tracker: DedicatedTracker;
  readonly #owner: RegisteredPool;
  readonly #opts: ShellOptions;
  readonly #errorLog = new LogLimiter(5, 10_000);
  #closed: Promise<CloseResult> | undefined;
  #ended = false;

  /** `makeCore` builds the engine on the shell's event hub. */
  constructor(owner: RegisteredPool, opts: ShellOptions, makeCore: (hub: EventHub) => CorePool<C, F>) {
    this.#owner = owner;
    this.#opts = opts;
    this.hub = new EventHub(registry.hub, opts.logger);
    this.core = makeCore(this.hub);
    this.tracker = new DedicatedTracker(this.core);
  }

  /** What the shell was told of its pool. */
  get options(): ShellOptions {
    return this.#opts;
  }

  /** Lists the pool in reports (once it is fully built). */
  register(): void {
    registry.pools.add(this.#owner);
  }

  /** True once close has finished (tracked connections closed, pool forgotten). */
  get ended(): boolean {
    return this.#ended;
  }

  // ---- reports ------------------------------------------------------------------------

  /** Counters, budget and wait/hold percentiles. */
  stats(): PoolStats {
    return this.core.stats();
  }

  /** Outstanding leases and tracked connections, oldest first. */
  leases(): LeaseInfo[] {
    return [...this.core.leases(), ...this.tracker.list()].sort((a, b) => b.ageMs - a.ageMs);
  }

  /** Forces everything outstanding back (lifeguard/vitest after a leak). */
  reclaim(note: string): LeaseInfo[] {
    const out: LeaseInfo[] = this.core.reclaim(note);
    const open = this.tracker.list();
    void this.tracker.closeAll();
    return out.concat(open);
  }

  // ---- work ---------------------------------------------------------------------------

  /**
   * Runs `fn` with a lease's client and always releases it (see `runScoped`);
   * `entry` is the pool method, for lazy attribution.
   */
  withConnection<T>(
    entry: Entry,
    fn: (client: F) => Promise<T> | T,
    opts: AcquireOptions | undefined,
    failed?: (error: unknown) => { readonly release: unknown; readonly error: unknown },
  ): Promise<T> {
    const call = this.core.scoped<T>(entry);
    void this.runScoped(call, opts, fn, failed);
    return call.promise;
  }

  /**
   * A scoped call's body: takes a lease, runs `fn(client)` holding it, releases it
   * and settles `call` with the outcome; never rejects. `failed` maps the callback's
   * error to what the release gets (a reason to close the connection, or undefined)
   * and what the caller gets.
   */
  async runScoped<T>(
    call: ScopedCall<T>,
    opts: AcquireOptions | undefined,
    fn: (client: F) => Promise<T> | T,
    failed?: (error: unknown) => { readonly release: unknown; readonly error: unknown },
  ): Promise<void> {
    let lease: Lease<C, F>;
    try {
      lease = await this.core.acquire(opts, call, false);
    } catch (err) {
      call.reject(err);
      return;
    }
    let result: T;
    try {
      result = await this.core.holding(lease, fn, lease.client);
    } catch (err) {
      const f = failed?.(err);
      try {
        this.core.endLease(lease, f?.release);
      } catch {
        // a throwing 'release' listener: the callback's error is the one to report
      }
      call.reject(f === undefined ? err : f.error);
      return;
    }
    try {
      this.core.endLease(lease, undefined);
    } catch (err) {
      call.reject(err);
      return;
    }
    call.resolve(result);
  }

  // ---- the 'event' listeners ----------------------------------------------------------

  on(listener: EventListener): void {
    this.hub.add(listener);
  }

  /** Listens to the next event only (`off(listener)` removes it before then). */
  once(listener: EventListener): void {
    const wrapper: OnceWrapper = (e) => {
      this.hub.remove(wrapper);
      listener(e);
    };
    wrapper.listener = listener;
    this.hub.add(wrapper);
  }

  off(listener: EventListener): void {
    this.hub.remove(listener);
  }

  // ---- connection errors --------------------------------------------------------------

  /** A connection outside the pool broke: passwords scrubbed, an 'error' event. */
  reportError(err: Error): void {
    scrubError(err, this.#opts.secrets);
    if (this.hub.active) {
      this.hub.emit({ type: 'error', pool: this.core.name, driver: this.#opts.driver, time: Date.now(), error: err, connectionId: undefined });
    }
  }

  /** {@link reportError}, and a warning line, at most 5 per 10 s (`what` names the connection). */
  connectionError(err: Error, what: string): void {
    this.reportError(err);
    this.log('warn', `${what}: ${err.message}`, this.#errorLog);
  }

  /** A log line naming the pool; with `limiter`, rate-limited (a count of the lines suppressed). */
  log(level: keyof Logger, text: string, limiter?: LogLimiter): void {
    const line = `lifeguard: ${this.#opts.label} "${this.core.name}": ${text}`;
    if (limiter !== undefined) limiter.write(this.#opts.logger, level, line);
    else safeLog(this.#opts.logger, level, line);
  }

  // ---- close --------------------------------------------------------------------------

  /**
   * Closes the pool within `timeoutMs` (default 10 s): leases, then tracked
   * connections, then `extras(left)` (the adapter's own connections; `left()` is
   * the time left of the one deadline). Concurrent and repeated calls share one
   * close; a later finite timeout bounds a close still draining.
   */
  close(timeoutMsOpt: number | undefined, extras?: (left: () => number) => Promise<void>): Promise<CloseResult> {
    // `??`, not a default parameter: a JavaScript caller's null means the default too, as in the engine
    const timeoutMs = timeoutMsOpt ?? DEFAULT_CLOSE_TIMEOUT_MS;
    if (this.#closed !== undefined) {
      if (timeoutMs !== Infinity) this.core.close({ timeoutMs }).catch(noop);
      return this.#closed;
    }
    return (this.#closed = (async () => {
      const deadline = performance.now() + timeoutMs;
      const left = (): number =>
        timeoutMs === Infinity ? this.#opts.connectTimeoutMs : Math.max(CLOSE_GRACE_MS, Math.round(deadline - performance.now()));
      const result = await this.core.close({ timeoutMs }).catch((err: unknown) => {
        this.#closed = undefined; // a bad timeoutMs: the pool is not closing
        throw err;
      });
      const open = await this.finish(left, extras);
      return { forced: [...result.forced, ...open] };
    })());
  }

  /** After the engine closed: tracked connections, `extras`, then the pool is forgotten. Returns what was still open. */
  async finish(left: () => number, extras?: (left: () => number) => Promise<void>): Promise<LeaseInfo[]> {
    const open = await this.tracker.closeAll(left());
    if (extras !== undefined) await extras(left);
    this.#ended = true;
    registry.pools.delete(this.#owner);
    poolClosed(this.#owner);
    return open;
  }
}

function noop(): void {}

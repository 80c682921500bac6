/**
 * Resilience: the circuit breaker (fed by failures to open a connection while none
 * works, its transitions acted on: waiters failed when it opens, one probe when it
 * half-opens, refill when it closes) and the periodic health check.
 */
import { Breaker, type Transition } from './breaker.js';
import { circuitChannel, publishCircuit } from './channels.js';
import type { Engine } from './engine.js';
import type { CircuitOpenError } from './errors.js';
import type { CircuitState } from './events.js';
import { HealthMonitor } from './health.js';
import { circuitOpenError, circuitText, healthText } from './messages.js';
import { describeValue } from './redact.js';

/**
 * The pool's public connection-level reports. Units call them through here, not the
 * breaker directly, so an adapter's wrapper of them (Sentinel failover grace) sees
 * every call.
 */
export interface ConnectionReports {
  connectionFailure(reason: string): void;
  connectionSuccess(): void;
}

export class Resilience<C, F> {
  readonly #e: Engine<C, F>;
  readonly api: ConnectionReports;
  readonly #breaker: Breaker | undefined;
  /** Fast flag for the hot path: the breaker is open or half-open. */
  tripped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #health: HealthMonitor | undefined;
  /** Adapters' hook on breaker changes (the shared Redis client fails fast while open). */
  onCircuit: ((to: CircuitState) => void) | undefined = undefined;

  constructor(e: Engine<C, F>, api: ConnectionReports) {
    this.#e = e;
    this.api = api;
    const cb = e.options.circuitBreaker;
    this.#breaker = cb === false ? undefined : new Breaker(cb.failureThreshold, cb.resetTimeoutMs, cb.openAfterMs);
    const hc = e.options.healthCheck;
    this.#health =
      hc === false
        ? undefined
        : new HealthMonitor(hc, {
            check: () => {
              const p = e.hooks.healthCheck ? e.hooks.healthCheck() : this.#defaultCheck();
              e.conns.track(p.catch(noop)); // close() waits for (or cuts) a check in flight
              return p;
            },
            onSuccess: () => api.connectionSuccess(),
            onChange: (healthy, detail) => this.#onHealthChange(healthy, detail),
          });
  }

  get state(): CircuitState {
    return this.#breaker?.state.kind ?? 'closed';
  }

  /** The result of the health checks (true until `failureThreshold` checks in a row fail). */
  get healthy(): boolean {
    return this.#health?.healthy ?? true;
  }

  /** The error an acquire gets while the circuit is open; undefined when it may proceed (moving to half-open if due). */
  refusal(): CircuitOpenError | undefined {
    const r = this.#breaker!.isOpen(performance.now());
    if (r === false) return undefined;
    if (r !== true) {
      this.#transition(r);
      return undefined;
    }
    return this.#openError();
  }

  #openError(): CircuitOpenError {
    const b = this.#breaker!;
    const s = b.state;
    return circuitOpenError(this.#e.name, s.kind === 'open' ? s.reason : 'unknown', b.retryAfterMs(performance.now()), this.#e.supply.lastConnectError);
  }

  /**
   * A failure to *open* a connection. Ignored while a connection of the pool works: the
   * server is up, and the breaker opens only when nothing works. The breaking of a
   * connection that was open is never fed: a restart or a kill of idle backends is
   * handled by reconnecting.
   */
  failure(reason: string): void {
    if (this.#breaker === undefined || this.#e.conns.working() > 0 || this.#e.hooks.hasWorkingConnection?.() === true) return;
    const t = this.#breaker.failure(performance.now(), reason);
    if (t !== undefined) this.#transition(t);
  }

  /** A connection-level success (a connection opened, a health check passed). */
  success(): void {
    const t = this.#breaker?.success();
    if (t !== undefined) this.#transition(t);
  }

  /** Stops the timers (close). */
  stop(): void {
    this.#health?.stop();
    clearTimeout(this.#timer);
  }

  #transition(t: Transition): void {
    const e = this.#e;
    this.tripped = t.to !== 'closed';
    if (circuitChannel.hasSubscribers) publishCircuit(e.name, e.kind, t.from, t.to, t.reason);
    if (e.events.active) e.emit({ type: 'circuit', pool: e.name, driver: e.kind, time: Date.now(), from: t.from, to: t.to, reason: t.reason });
    e.log(t.to === 'open' ? 'warn' : 'info', circuitText(e.name, t.from, t.to, t.reason));
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.onCircuit?.(t.to);
    if (t.to === 'open') {
      // waiters already queued fail now instead of sitting out their timeouts
      const err = this.#openError();
      e.queue.rejectAll(() => err);
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        if (!e.closing) this.refusal();
      }, this.#breaker!.retryAfterMs(performance.now()) + 1);
      this.#timer.unref?.();
    } else if (t.to === 'half-open') {
      // one probe: through a live connection when there is one, else a new connection;
      // its outcome closes or reopens the circuit
      e.supply.retryNow();
      const live = e.idle.pop();
      if (live !== undefined) e.conns.validate(live);
      else if (e.conns.creating === 0 && e.budget.tryTake('pooled')) e.conns.open();
    } else {
      e.supply.recovered();
      e.handout.dispatch();
      e.supply.refillSpread();
    }
  }

  /** True while the breaker is open (not half-open): no new connection is tried. */
  get open(): boolean {
    return this.tripped && this.#breaker!.state.kind === 'open';
  }

  #onHealthChange(healthy: boolean, detail: string | undefined): void {
    const e = this.#e;
    if (e.events.active) e.emit({ type: 'health', pool: e.name, driver: e.kind, time: Date.now(), healthy, detail });
    e.log(healthy ? 'info' : 'warn', healthText(e.name, healthy, detail));
  }

  /** How long one health check may take: min(intervalMs, connectTimeoutMs). */
  get checkTimeoutMs(): number {
    const hc = this.#e.options.healthCheck;
    return hc === false ? this.#e.options.connectTimeoutMs : Math.min(hc.intervalMs, this.#e.options.connectTimeoutMs);
  }

  /**
   * Checks the most recently used idle connection without leasing it and without
   * touching its idle clock, so idle connections still close on time and an idle
   * process can exit; within min(intervalMs, connectTimeoutMs). With no idle
   * connection there is nothing to check: connections in use show their health to
   * their users, and opening one only to check it would keep an idle process alive.
   */
  async #defaultCheck(): Promise<void> {
    const e = this.#e;
    if (e.closing) return;
    const conn = e.idle.pop();
    if (conn === undefined) {
      // nothing to check: a pass, unless connecting is failing (a pass would close an open circuit unprobed)
      if (e.supply.attempt > 0 || this.tripped) throw new Error(`no connection works (${describeValue(e.supply.lastConnectError ?? 'connecting is failing')})`);
      return;
    }
    e.conns.validating++;
    const timeoutMs = this.checkTimeoutMs;
    let ok = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      ok = await Promise.race([
        e.driver.validate(conn.raw).catch(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), timeoutMs);
          timer.unref?.();
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
    e.conns.validating--;
    if (ok && conn.broken === undefined && !e.closing) {
      if (e.queue.size > 0) e.handout.give(conn);
      else e.idle.putBack(conn);
    } else {
      e.conns.destroy(conn, ok ? (e.closing ? 'close' : 'error') : 'validation-failed', conn.broken);
    }
    e.handout.dispatch();
    if (!ok) throw new Error(`the health check query got no answer within ${timeoutMs} ms`);
  }
}

function noop(): void {}

/**
 * Lazy attribution of scoped calls (`query`, `withConnection`, `withTransaction`).
 * Nothing is captured up front. The promise handed to the caller is
 * `gate.then(afterGate)`; the gate normally opens with the call's result. When a
 * report needs the site while the call still runs, the gate is opened early, so
 * `afterGate` runs as a reaction inside the caller's promise chain and
 * `Error.captureStackTrace` sees the awaiting callers (V8's zero-cost async stack
 * traces): the first of them is the application's `await` line. A call nobody
 * awaits has no such chain, and says so.
 */
import { captureReaction, captureSite, type SiteHolder } from './site.js';

type Entry = (...args: never[]) => unknown;

const RUNNING = 0;
const WOKEN = 1;
const DONE = 2;

/** One scoped call in flight: the sink of its result and, once woken, its site. */
export class ScopedCall<T = unknown> {
  /** What the caller awaits. */
  readonly promise: Promise<T>;
  /** Attributed lazily (false when capture is off: then it is only a promise and its sink). */
  readonly lazy: boolean;
  /** The captured async stack, once woken. */
  site: SiteHolder | undefined = undefined;
  #state: number;
  // loosely typed, so that a ScopedCall<T> is a ScopedCall<unknown> where sites are read
  #resolve!: (value: unknown) => void;
  #reject!: (error: unknown) => void;
  #rest: Promise<unknown> | undefined = undefined;
  readonly #limit: number;
  readonly #entry: Entry | undefined;

  /**
   * `lazy` false: a plain promise, no attribution (capture is off). `entry`: the
   * public method called, for a synchronous capture while it is still on the stack.
   */
  constructor(lazy: boolean, limit: number, entry?: Entry) {
    this.#limit = limit;
    this.#entry = entry;
    this.lazy = lazy;
    this.#state = lazy ? RUNNING : DONE; // a call without attribution is never woken
    const gate = new Promise<unknown>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.promise = (lazy ? gate.then(afterGate) : gate) as Promise<T>;
  }

  /** Settles the call with its result. */
  resolve(value: T): void {
    this.#state = DONE;
    this.#resolve(value);
  }

  /** Settles the call with an error. */
  reject(error: unknown): void {
    this.#state = DONE;
    this.#reject(error);
  }

  /**
   * Asks for the site: the capture happens one microtask later (run the report
   * after `queueMicrotask`). A no-op once woken or settled.
   */
  wake(): void {
    if (this.#state !== RUNNING || this.site !== undefined) return;
    this.#state = WOKEN;
    const open = this.#resolve;
    // the result goes to `rest` from now on; the gate carries this call to afterGate
    this.#rest = new Promise<unknown>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    open(this);
  }

  /**
   * Captures the synchronous stack now, for a report made while the call is still
   * inside the public method (a nested acquire): more precise than its awaiting
   * caller when the call was returned, not awaited.
   */
  captureNow(): void {
    if (this.lazy && this.site === undefined && this.#entry !== undefined) this.site = captureSite(this.#entry, this.#limit);
  }

  /** @internal afterGate's half: capture, then hand the caller the rest of the call. */
  capture(): Promise<T> {
    // Node's microtask runner frames above afterGate do not count against the limit
    this.site = captureReaction(afterGate, this.#limit);
    return this.#rest as Promise<T>;
  }
}

function afterGate(value: unknown): unknown {
  return value instanceof ScopedCall ? value.capture() : value;
}

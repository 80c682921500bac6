/**
 * Await events and conditions instead of sleeping. Works with anything that has
 * `on('event', fn)` / `off('event', fn)` delivering objects with a string `type`
 * (lifeguard's pools and manager, or any test double); the event type is read from
 * the source, so `nextEvent(pool, 'leak')` resolves to the `leak` event's type.
 */

/** Anything that emits typed events on `'event'`. */
export interface EventSource<E> {
  on(event: 'event', fn: (e: E) => void): unknown;
  off(event: 'event', fn: (e: E) => void): unknown;
}

// The event type of a source. A class may overload on() (e.g. an EventEmitter subclass:
// on('event', …) plus on(string | symbol, …)); TypeScript infers from one overload only,
// so both of up to two overloads are looked at and the one for 'event' is kept.
type OnParameters<S> = S extends { on(...a: infer A1): unknown; on(...a: infer A2): unknown }
  ? A1 | A2
  : S extends { on(...a: infer A): unknown }
    ? A
    : never;
type EventFromParameters<A> = A extends [infer K, (e: infer E) => void, ...unknown[]]
  ? [K] extends ['event']
    ? ['event'] extends [K]
      ? E
      : never
    : never
  : never;

/** The events `S` emits on `'event'`. */
export type SourceEvent<S> = EventFromParameters<OnParameters<S>>;
/** The `type` strings of an event union. */
export type TypeOf<E> = E extends { type: infer K extends string } ? K : never;
/** The member of the event union `E` with `type` T. */
export type OfType<E, T extends string> = Extract<E, { type: T }>;

export interface TimeoutOptions {
  /** Default 5000. */
  timeoutMs?: number;
}

/**
 * The first event of `type` (and matching `predicate`) from `source`. Rejects naming the
 * type after `timeoutMs`, or if `predicate` throws; unsubscribes in every case.
 */
export function nextEvent<S extends EventSource<SourceEvent<S>>, T extends TypeOf<SourceEvent<S>>>(
  source: S,
  type: T,
  predicate?: (e: OfType<SourceEvent<S>, T>) => boolean,
  { timeoutMs = 5000 }: TimeoutOptions = {},
): Promise<OfType<SourceEvent<S>, T>> {
  type E = SourceEvent<S>;
  return new Promise((resolve, reject) => {
    const fn = (e: E): void => {
      if ((e as { type: string }).type !== type) return;
      const ev = e as OfType<E, T>;
      let ok: boolean;
      try {
        ok = !predicate || predicate(ev);
      } catch (err) {
        settle();
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (!ok) return;
      settle();
      resolve(ev);
    };
    const timer = setTimeout(() => {
      settle();
      reject(new Error(`no "${type}" event${predicate ? ' matching the predicate' : ''} within ${timeoutMs} ms`));
    }, timeoutMs);
    const settle = (): void => {
      clearTimeout(timer);
      source.off('event', fn);
    };
    source.on('event', fn);
  });
}

/** Collects events (all, or those of `types`) until `stop()`. */
export function collectEvents<S extends EventSource<SourceEvent<S>>, T extends TypeOf<SourceEvent<S>> = TypeOf<SourceEvent<S>>>(
  source: S,
  types?: readonly T[],
): { events: OfType<SourceEvent<S>, T>[]; stop(): void } {
  type E = SourceEvent<S>;
  const events: OfType<E, T>[] = [];
  const wanted = types ? new Set<string>(types) : undefined;
  const fn = (e: E): void => {
    if (!wanted || wanted.has((e as { type: string }).type)) events.push(e as OfType<E, T>);
  };
  source.on('event', fn);
  let stopped = false;
  return {
    events,
    stop: () => {
      if (stopped) return;
      stopped = true;
      source.off('event', fn);
    },
  };
}

export interface WaitForOptions {
  /** Default 5000. */
  timeoutMs?: number;
  /** Pause between polls; default 10. */
  intervalMs?: number;
  /** The error message on timeout. */
  message?: string;
}

/**
 * Polls `cond` until it returns true; rejects with `message` after `timeoutMs`. A throw
 * or rejection from `cond` rejects at once.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  { timeoutMs = 5000, intervalMs = 10, message = 'condition not met' }: WaitForOptions = {},
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (performance.now() >= deadline) throw new Error(`${message} (within ${timeoutMs} ms)`);
    await new Promise((r) => setTimeout(r, Math.min(intervalMs, Math.max(0, deadline - performance.now()))));
  }
}

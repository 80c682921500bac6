/** Await events and conditions instead of sleeping. */
import type { EventOf, LifeguardEvent, LifeguardEventType } from '../../src/index.js';

/** Anything with lifeguard's `on('event')` / `off('event')`: pools and the manager. */
export interface EventSource {
  on(event: 'event', fn: (e: LifeguardEvent) => void): unknown;
  off(event: 'event', fn: (e: LifeguardEvent) => void): unknown;
}

/** The first event of `type` (matching `predicate`) from `source`; rejects after `timeoutMs`. */
export function nextEvent<T extends LifeguardEventType>(
  source: EventSource,
  type: T,
  predicate?: (e: EventOf<T>) => boolean,
  { timeoutMs = 5000 }: { timeoutMs?: number } = {},
): Promise<EventOf<T>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off('event', fn);
      reject(new Error(`no "${type}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const fn = (e: LifeguardEvent): void => {
      if (e.type !== type || (predicate && !predicate(e as EventOf<T>))) return;
      clearTimeout(timer);
      source.off('event', fn);
      resolve(e as EventOf<T>);
    };
    source.on('event', fn);
  });
}

/** Collects events (of the given types) until stop(). */
export function collectEvents(source: EventSource, types?: readonly LifeguardEventType[]): { events: LifeguardEvent[]; stop(): void } {
  const events: LifeguardEvent[] = [];
  const fn = (e: LifeguardEvent): void => {
    if (!types || types.includes(e.type)) events.push(e);
  };
  source.on('event', fn);
  return { events, stop: () => source.off('event', fn) };
}

/** Polls `cond` until it is true; rejects with `message` after `timeoutMs`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  { timeoutMs = 5000, intervalMs = 10, message = 'condition not met' }: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (performance.now() > deadline) throw new Error(`${message} (after ${timeoutMs} ms)`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

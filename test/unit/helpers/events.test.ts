import { describe, expect, expectTypeOf, it } from 'vitest';
import { collectEvents, nextEvent, type SourceEvent, waitFor } from '../../helpers/events.js';

type Ev = { type: 'open'; id: number } | { type: 'close'; id: number; reason: string };
type Listener = (e: Ev) => void;

/** Overloads like lifeguard's pg pool (an EventEmitter subclass). */
class Source {
  readonly listeners = new Set<Listener>();
  on(event: 'event', fn: Listener): this;
  on(event: string | symbol, fn: (...args: never[]) => void): this;
  on(event: string | symbol, fn: (...args: never[]) => void): this {
    if (event === 'event') this.listeners.add(fn as Listener);
    return this;
  }
  off(event: 'event', fn: Listener): this;
  off(event: string | symbol, fn: (...args: never[]) => void): this;
  off(event: string | symbol, fn: (...args: never[]) => void): this {
    if (event === 'event') this.listeners.delete(fn as Listener);
    return this;
  }
  emit(e: Ev): void {
    for (const fn of [...this.listeners]) fn(e);
  }
}

/** A single signature, like lifeguard's Redis pool. */
class Plain {
  readonly listeners = new Set<Listener>();
  on(_event: 'event', fn: Listener): void {
    this.listeners.add(fn);
  }
  off(_event: 'event', fn: Listener): void {
    this.listeners.delete(fn);
  }
}

describe('nextEvent', () => {
  it('resolves with the first matching event, typed by its type, and unsubscribes', async () => {
    const s = new Source();
    const p = nextEvent(s, 'close', (e) => e.id === 2);
    s.emit({ type: 'open', id: 2 });
    s.emit({ type: 'close', id: 1, reason: 'a' });
    s.emit({ type: 'close', id: 2, reason: 'b' });
    s.emit({ type: 'close', id: 2, reason: 'c' });
    const e = await p;
    expect(e).toEqual({ type: 'close', id: 2, reason: 'b' });
    expect(s.listeners.size).toBe(0);
    expectTypeOf(e).toEqualTypeOf<{ type: 'close'; id: number; reason: string }>();
    expectTypeOf<SourceEvent<Source>>().toEqualTypeOf<Ev>();
    expectTypeOf<SourceEvent<Plain>>().toEqualTypeOf<Ev>();
  });

  it('rejects naming the type after the timeout, and unsubscribes', async () => {
    const s = new Plain();
    const started = performance.now();
    await expect(nextEvent(s, 'open', undefined, { timeoutMs: 50 })).rejects.toThrow(/"open".*50 ms/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    expect(s.listeners.size).toBe(0);
  });

  it('rejects if the predicate throws, and unsubscribes', async () => {
    const s = new Source();
    const p = nextEvent(s, 'open', () => {
      throw new Error('boom');
    });
    s.emit({ type: 'open', id: 1 });
    await expect(p).rejects.toThrow('boom');
    expect(s.listeners.size).toBe(0);
  });

  it('rejects unknown event types at compile time', () => {
    const s = new Source();
    // @ts-expect-error 'nope' is no event type of Source
    void nextEvent(s, 'nope', undefined, { timeoutMs: 1 }).catch(() => undefined);
  });
});

describe('collectEvents', () => {
  it('collects all events, or those of the given types, until stop()', () => {
    const s = new Source();
    const all = collectEvents(s);
    const closes = collectEvents(s, ['close']);
    s.emit({ type: 'open', id: 1 });
    s.emit({ type: 'close', id: 1, reason: 'x' });
    closes.stop();
    closes.stop();
    s.emit({ type: 'close', id: 2, reason: 'y' });
    all.stop();
    s.emit({ type: 'open', id: 3 });
    expect(all.events.map((e) => e.id)).toEqual([1, 1, 2]);
    expect(closes.events).toEqual([{ type: 'close', id: 1, reason: 'x' }]);
    expect(s.listeners.size).toBe(0);
    expectTypeOf(closes.events).toEqualTypeOf<{ type: 'close'; id: number; reason: string }[]>();
    expectTypeOf(all.events).toEqualTypeOf<Ev[]>();
  });
});

describe('waitFor', () => {
  it('resolves once the condition holds (sync or async)', async () => {
    let n = 0;
    await waitFor(() => ++n >= 3, { intervalMs: 1 });
    expect(n).toBe(3);
    let m = 0;
    await waitFor(async () => ++m >= 2, { intervalMs: 1 });
    expect(m).toBe(2);
  });

  it('rejects with the message after the timeout', async () => {
    const started = performance.now();
    await expect(waitFor(() => false, { timeoutMs: 40, message: 'never true' })).rejects.toThrow(/never true/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });

  it('rejects at once when the condition throws', async () => {
    await expect(
      waitFor(() => {
        throw new Error('broken');
      }),
    ).rejects.toThrow('broken');
  });
});

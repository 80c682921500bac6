import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Engine } from '../../../../src/core/engine.js';
import { IdleSet, VALIDATE_AFTER_IDLE_MS } from '../../../../src/core/idle.js';
import { Conn } from '../../../../src/core/lease.js';

/** An idle set over stand-ins for the connection unit: what it closes and checks is recorded. */
function idleSet(options: { idleTimeoutMs: number; min: number }) {
  const destroyed: [number, string][] = [];
  const validated: number[] = [];
  const conns = {
    total: 0,
    destroy(c: Conn<string>, reason: string) {
      destroyed.push([c.id, reason]);
      conns.total--;
    },
    validate(c: Conn<string>) {
      validated.push(c.id);
    },
  };
  const idle = new IdleSet<string, string>({ options, conns } as unknown as Engine<string, string>);
  const add = (id: number, idleSince: number, expiresAt = Infinity): Conn<string> => {
    const c = new Conn(id, `c${id}`, idleSince, expiresAt);
    conns.total++;
    idle.push(c, idleSince);
    return c;
  };
  return { idle, add, destroyed, validated, conns };
}

describe('IdleSet', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands out the most recently used connection; broken, expired and long-idle ones are routed away first', () => {
    const now = performance.now();
    const { idle, add, destroyed, validated } = idleSet({ idleTimeoutMs: 0, min: 0 });
    const warm = add(1, now - 10);
    add(2, now - VALIDATE_AFTER_IDLE_MS - 500); // long idle: checked before use
    add(3, now - 5, now - 1); // its lifetime is over
    const broken = add(4, now - 1);
    broken.broken = 'socket hang up';
    // pushed in order 1..4: 4 is the most recent, so it is looked at first
    expect(idle.take(now)).toBe(warm);
    expect(destroyed).toEqual([
      [4, 'error'],
      [3, 'lifetime'],
    ]);
    expect(validated).toEqual([2]);
    expect(idle.size).toBe(0);
  });

  it('puts a checked connection back in idle-clock order, so the oldest still times out first', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const t0 = performance.now();
    const { idle, add, destroyed } = idleSet({ idleTimeoutMs: 1000, min: 0 });
    add(1, t0);
    add(2, t0 + 100);
    const popped = idle.pop()!; // the health check takes the newest without touching its clock
    expect(popped.id).toBe(2);
    add(3, t0 + 200);
    idle.putBack(popped);
    vi.advanceTimersByTime(1000);
    expect(destroyed.map(([id]) => id)).toEqual([1]);
    vi.advanceTimersByTime(100);
    expect(destroyed.map(([id]) => id)).toEqual([1, 2]);
    vi.advanceTimersByTime(100);
    expect(destroyed.map(([id]) => id)).toEqual([1, 2, 3]);
  });

  it('closes idle connections after idleTimeoutMs down to min, and never below it', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const t0 = performance.now();
    const { add, destroyed, conns } = idleSet({ idleTimeoutMs: 500, min: 2 });
    for (let i = 1; i <= 4; i++) add(i, t0);
    vi.advanceTimersByTime(499);
    expect(destroyed).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(destroyed).toEqual([
      [1, 'idle'],
      [2, 'idle'],
    ]);
    vi.advanceTimersByTime(10_000);
    expect(conns.total).toBe(2);
  });

  it('remove() takes out only a connection that is idle', () => {
    const { idle, add } = idleSet({ idleTimeoutMs: 0, min: 0 });
    const a = add(1, performance.now());
    expect(idle.remove(a)).toBe(true);
    expect(idle.remove(a)).toBe(false);
    expect(idle.size).toBe(0);
  });
});

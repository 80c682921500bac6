import { describe, expect, it } from 'vitest';
import { type QueuedWaiter, WaiterQueue } from '../../../src/core/waiters.js';

type W = QueuedWaiter & { n: number };
const waiter = (n: number, deadline = n, timeoutMs = 1000): W => ({ settled: false, n, deadline, timeoutMs });

describe('WaiterQueue', () => {
  it('is FIFO and skips cancelled waiters', () => {
    const q = new WaiterQueue<W>();
    const ws = Array.from({ length: 5 }, (_, n) => waiter(n));
    ws.forEach((w) => q.push(w));
    q.cancel(ws[1]!);
    q.cancel(ws[3]!);
    q.cancel(ws[3]!);
    expect(q.size).toBe(3);
    expect([q.shift()?.n, q.shift()?.n, q.shift()?.n, q.shift()]).toEqual([0, 2, 4, undefined]);
    expect(q.size).toBe(0);
  });

  it('stays correct across many pushes and shifts', () => {
    const q = new WaiterQueue<W>();
    for (let i = 0; i < 5000; i++) q.push(waiter(i));
    for (let i = 0; i < 3000; i++) expect(q.shift()!.n).toBe(i);
    for (let i = 5000; i < 5100; i++) q.push(waiter(i));
    expect(q.size).toBe(2100);
    expect(q.drain().map((w) => w.n)).toEqual(Array.from({ length: 2100 }, (_, i) => i + 3000));
  });

  it('takes due waiters of every timeout group in bounded batches, and tells the next deadline', () => {
    const q = new WaiterQueue<W>();
    // two groups: timeout 100 (deadlines 100..109) and timeout 50 (deadlines 60..64)
    for (let i = 0; i < 10; i++) q.push(waiter(i, 100 + i, 100));
    for (let i = 0; i < 5; i++) q.push(waiter(100 + i, 60 + i, 50));
    expect(q.nextDeadline()).toBe(60);
    expect(q.takeDue(62, 100).map((w) => w.n)).toEqual([100, 101, 102]);
    expect(q.nextDeadline()).toBe(63);
    const batch = q.takeDue(200, 4);
    expect(batch).toHaveLength(4);
    expect(batch.every((w) => w.settled)).toBe(true);
    expect(q.size).toBe(15 - 7);
    expect(q.takeDue(200, 100)).toHaveLength(8);
    expect(q.size).toBe(0);
    expect(q.nextDeadline()).toBe(Infinity);
    expect(q.shift()).toBeUndefined();
  });

  it('unlinks a cancelled waiter at once: nothing of it stays reachable from the queue', () => {
    const q = new WaiterQueue<W>();
    const ws = Array.from({ length: 3 }, (_, n) => waiter(n));
    ws.forEach((w) => q.push(w));
    q.cancel(ws[1]!);
    expect(ws[1]!.prev).toBeUndefined();
    expect(ws[1]!.next).toBeUndefined();
    expect(ws[0]!.next).toBe(ws[2]);
    expect(ws[2]!.prev).toBe(ws[0]);
    q.cancel(ws[0]!);
    q.cancel(ws[2]!);
    expect(q.size).toBe(0);
    expect(q.nextDeadline()).toBe(Infinity);
  });
});

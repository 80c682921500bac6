import { describe, expect, it } from 'vitest';
import { WaiterQueue } from '../../../src/core/waiters.js';

describe('WaiterQueue', () => {
  it('is FIFO and skips cancelled waiters', () => {
    const q = new WaiterQueue<{ settled: boolean; n: number }>();
    const ws = Array.from({ length: 5 }, (_, n) => ({ settled: false, n }));
    ws.forEach((w) => q.push(w));
    q.cancel(ws[1]!);
    q.cancel(ws[3]!);
    q.cancel(ws[3]!);
    expect(q.size).toBe(3);
    expect([q.shift()?.n, q.shift()?.n, q.shift()?.n, q.shift()]).toEqual([0, 2, 4, undefined]);
    expect(q.size).toBe(0);
  });

  it('stays correct across compaction', () => {
    const q = new WaiterQueue<{ settled: boolean; n: number }>();
    for (let i = 0; i < 5000; i++) q.push({ settled: false, n: i });
    for (let i = 0; i < 3000; i++) expect(q.shift()!.n).toBe(i);
    for (let i = 5000; i < 5100; i++) q.push({ settled: false, n: i });
    expect(q.size).toBe(2100);
    expect(q.drain().map((w) => w.n)).toEqual(Array.from({ length: 2100 }, (_, i) => i + 3000));
  });
});

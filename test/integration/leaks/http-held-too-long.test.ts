import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { type EventOf, withRequestTag } from '../../../src/index.js';
import { nextEvent } from '../../helpers/events.js';
import { testPgPool } from '../../helpers/pools.js';

describe('held-too-long under the node:http tag helper', () => {
  it('reports one leak whose first frame is the handler line and whose tag is the route, then leak-resolved', async () => {
    const { pool } = testPgPool({ max: 2, leakDetection: { thresholdMs: 100, captureStacks: 'always' } });
    let release: (() => void) | undefined;
    const server = http.createServer(
      withRequestTag(async (_req: http.IncomingMessage, res: http.ServerResponse) => {
        const lease = await pool.acquire(); // HANDLER-ACQUIRE
        await new Promise<void>((resolve) => (release = resolve));
        lease.release();
        res.end('ok');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const leaks: EventOf<'leak'>[] = [];
      pool.on('event', (e) => {
        if (e.type === 'leak') leaks.push(e);
      });
      const leak = nextEvent(pool, 'leak');
      const { port } = server.address() as AddressInfo;
      const response = fetch(`http://127.0.0.1:${port}/users/42?full=1`);
      const e = await leak;
      expect(e.kind).toBe('held-too-long');
      expect(e.lease.tag).toBe('GET /users/:id');
      const line = (await import('node:fs')).readFileSync(new URL(import.meta.url), 'utf8').split('\n').findIndex((l) => l.includes('// HANDLER-ACQUIRE')) + 1;
      expect(e.lease.site).toMatch(new RegExp(`test/integration/leaks/http-held-too-long\\.test\\.ts:${line}:\\d+$`));
      expect(e.lease.stack!.split('\n')[0]).toContain(`http-held-too-long.test.ts:${line}:`);
      expect(e.lease.ageMs).toBeGreaterThanOrEqual(100);

      const resolved = nextEvent(pool, 'leak-resolved');
      release!();
      expect((await resolved).lease.id).toBe(e.lease.id);
      expect(await (await response).text()).toBe('ok');
      expect(leaks).toHaveLength(1);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

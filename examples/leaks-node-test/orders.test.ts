// Leak reports in node:test. One test forgets to release a connection, on purpose:
// the run fails with lifeguard's report naming that line, and the next test starts
// clean. Run: npm run example leaks-node-test      (exits 1: that is the point)
import assert from 'node:assert/strict';
import { after, afterEach, test } from 'node:test';
import { createPgPool } from 'lifeguard';
import { assertNoLeaks } from 'lifeguard/testing';

const db = createPgPool({ name: 'orders', connectionString: process.env.DATABASE_URL, max: 2 });
afterEach(() => assertNoLeaks({ reclaim: true })); // throws LeakError naming the line
after(() => db.end());

async function countOrders(): Promise<number> {
  const client = await db.connect(); // LEAKS-HERE: no client.release()
  const { rows } = await client.query<{ n: number }>('select 3 as n');
  return rows[0]!.n;
}

test('counts orders (leaks its connection)', async () => {
  assert.equal(await countOrders(), 3);
});

test('withConnection always releases', async () => {
  const n = await db.withConnection(async (client) => (await client.query<{ n: number }>('select 1 as n')).rows[0]!.n);
  assert.equal(n, 1);
});

// Leak reports in vitest: `setupFiles: ['lifeguard/vitest']` fails the one test that
// left a lease out, naming the line that acquired it, and reclaims the lease.
// Run: npm run example leaks-vitest      (exits 1: one test leaks on purpose)
import { afterAll, expect, test } from 'vitest';
import { createPgPool } from 'lifeguard';

const db = createPgPool({ name: 'orders', connectionString: process.env.DATABASE_URL, max: 2 });
afterAll(() => db.end());

async function countOrders(): Promise<number> {
  const lease = await db.acquire({ tag: 'countOrders' }); // LEAKS-HERE: never released
  const { rows } = await lease.client.query<{ n: number }>('select 3 as n');
  return rows[0]!.n;
}

test('counts orders (leaks its lease)', async () => {
  expect(await countOrders()).toBe(3);
});

test('withConnection always releases', async () => {
  const n = await db.withConnection(async (client) => (await client.query<{ n: number }>('select 1 as n')).rows[0]!.n);
  expect(n).toBe(1);
});

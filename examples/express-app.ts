// An Express service: request tags, withConnection, withTransaction, a Redis cache.
// Run: npm run example express-app      (then: curl localhost:3000/users/1)
// Every lease taken while serving a request is tagged "GET /users/:id", so leak
// reports and ACQUIRE_TIMEOUT name the endpoint as well as the line.
import express from 'express';
import { getPoolManager, tagRequests } from 'lifeguard';

const lg = getPoolManager();
const db = lg.pg('main', { connectionString: process.env.DATABASE_URL, max: 10 });
const cache = lg.redis('cache', { url: process.env.REDIS_URL, max: 10 });
const accounts = `example_accounts_${process.pid}`;

await db.query(`create table ${accounts} (id int primary key, name text not null, balance int not null)`);
await db.query(`insert into ${accounts} values (1, 'ada', 100), (2, 'linus', 50)`);

const app = express();
app.use(express.json());
app.use(tagRequests()); // tags come from the route: "GET /users/:id"

app.get('/users/:id', async (req, res) => {
  const key = `example:user:${process.pid}:${req.params.id}`;
  const cached = await cache.client.get(key);
  if (cached) return void res.json({ ...JSON.parse(cached), cached: true });
  const user = await db.withConnection(async (client) => {
    const { rows } = await client.query(`select id, name, balance from ${accounts} where id = $1`, [req.params.id]);
    return rows[0];
  });
  if (!user) return void res.status(404).json({ error: 'no such user' });
  await cache.client.set(key, JSON.stringify(user), 'EX', 60);
  res.json({ ...user, cached: false });
});

app.post('/transfer', async (req, res) => {
  const { from, to, amount } = req.body as { from: number; to: number; amount: number };
  try {
    await db.withTransaction(async (client) => {
      const { rows } = await client.query(`update ${accounts} set balance = balance - $2 where id = $1 returning balance`, [from, amount]);
      if (!rows[0] || rows[0].balance < 0) throw new Error('insufficient funds'); // rolls back
      await client.query(`update ${accounts} set balance = balance + $2 where id = $1`, [to, amount]);
    });
    await cache.client.del(`example:user:${process.pid}:${from}`, `example:user:${process.pid}:${to}`);
    res.json({ ok: true });
  } catch (err) {
    res.status(409).json({ error: (err as Error).message });
  }
});

app.get('/pools', (_req, res) => {
  res.json({ db: db.stats(), cache: cache.stats(), leases: lg.leases() });
});

const server = app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  console.log(`listening on http://127.0.0.1:${port}  (try GET /users/1, POST /transfer {"from":1,"to":2,"amount":30}, GET /pools)`);
});

async function shutdown(): Promise<void> {
  server.close();
  await db.query(`drop table if exists ${accounts}`);
  const { forced } = await lg.close({ timeoutMs: 5000 });
  console.log(`closed (${forced.length} leases forced)`);
}
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());

// PostgreSQL LISTEN/NOTIFY with listener(): a dedicated connection inside the pool's
// budget, listening again after a reconnect. Run: npm run example listen-notify
import { createPgPool } from 'lifeguard';

const db = createPgPool({ name: 'notify', connectionString: process.env.DATABASE_URL, max: 3 });
const channel = `example_jobs_${process.pid}`;

const listener = await db.listener();
const payloads: string[] = [];
let gotBoth!: () => void;
const got = new Promise<void>((resolve) => (gotBoth = resolve));
await listener.listen(channel, (payload) => {
  payloads.push(payload ?? '');
  console.log(`NOTIFY ${channel}: ${payload}`);
  if (payloads.length === 2) gotBoth();
});
await db.query('select pg_notify($1, $2)', [channel, JSON.stringify({ job: 1 })]);
await db.withTransaction(async (client) => {
  await client.query('select pg_notify($1, $2)', [channel, JSON.stringify({ job: 2 })]); // delivered at COMMIT
});
await got;
console.log('listeners:', db.listeners().map((l) => ({ id: l.id, channels: l.channels })));
await listener.close();
await db.end();

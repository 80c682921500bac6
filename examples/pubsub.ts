// Redis pub/sub with subscriber(): a dedicated connection inside the pool's budget,
// subscribed again automatically after a reconnect. Run: npm run example pubsub
import { createRedisPool } from 'lifeguard';

const redis = createRedisPool({ name: 'events', url: process.env.REDIS_URL, max: 3 });
const channel = `example:events:${process.pid}`;

const sub = await redis.subscriber();
const received: string[] = [];
let allReceived!: () => void;
const all = new Promise<void>((resolve) => (allReceived = resolve));
await sub.subscribe(channel, (message, ch) => {
  received.push(message);
  console.log(`[${ch}] ${message}`);
  if (received.length === 3) allReceived();
});
for (const m of ['user.created', 'user.updated', 'user.deleted']) await redis.client.publish(channel, m);
await all;
console.log('subscribers:', redis.subscribers().map((s) => ({ id: s.id, channels: s.channels })));
console.log('budget:', redis.stats().budget);
await sub.close();
await redis.close();

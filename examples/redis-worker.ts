// A BullMQ-style worker: a producer pushes jobs onto a list, four workers BLPOP them on
// pooled connections (a blocking command needs a connection of its own; the shared
// client must never block). Run: npm run example redis-worker
import { createRedisPool } from 'lifeguard';

const JOBS = Number(process.env.JOBS ?? 200);
const WORKERS = 4;
const queue = `example:queue:${process.pid}`;
// the budget: the shared client (producer) + one pooled connection per worker
const redis = createRedisPool({ name: 'worker', url: process.env.REDIS_URL, max: WORKERS + 1 });

let done = 0;
async function worker(): Promise<number> {
  let handled = 0;
  while (done < JOBS) {
    // exclusive connection for the blocking pop; released after each job
    const popped = await redis.withConnection((conn) => conn.blpop(queue, 1));
    if (popped === null) continue; // timed out: check whether we are done
    const job = JSON.parse(popped[1]) as { n: number };
    await redis.client.incrby(`${queue}:sum`, job.n); // work: shared client
    handled++;
    done++;
  }
  return handled;
}

const started = performance.now();
const workers = Array.from({ length: WORKERS }, () => worker());
for (let n = 1; n <= JOBS; n++) await redis.client.rpush(queue, JSON.stringify({ n }));
const perWorker = await Promise.all(workers);
const sum = Number(await redis.client.get(`${queue}:sum`));
console.log(`${JOBS} jobs in ${Math.round(performance.now() - started)} ms; per worker ${perWorker.join(' / ')}; sum ${sum} (expected ${(JOBS * (JOBS + 1)) / 2})`);
const s = redis.stats();
console.log(`pool: max ${s.max}, pooled connections opened ${s.created}, leases ${s.acquired}, wait p99 ${s.waitMs.p99} ms`);
await redis.client.del(queue, `${queue}:sum`);
await redis.close();

/**
 * A Redis pool's entry in the fleet-wide budget hash, for `lifeguard doctor`: written
 * when the shared client is ready and refreshed on a timer, dropped at close.
 */
import type { ResolvedRedisOptions } from './options.js';
import { BUDGET_KEY, BUDGET_REFRESH_MS, BUDGET_STALE_S, BUDGET_TTL_S } from './budget.js';
import { redisConnectionName } from './driver.js';
import type { RedisClient } from './topology.js';

/**
 * Publishes this process's budget: field `<app>:<pool>:<pid>` = `"<max> <epoch s>"` in
 * the hash {@link BUDGET_KEY}, which expires unless refreshed. The first write also
 * drops fields nobody refreshed for {@link BUDGET_STALE_S} (processes that died
 * without closing their pools). Does nothing unless `publishBudget` is set.
 */
export class BudgetPublisher {
  readonly #client: RedisClient;
  readonly #opts: ResolvedRedisOptions;
  readonly #closing: () => boolean;
  readonly #timer: ReturnType<typeof setInterval> | undefined;
  #published = false;

  constructor(client: RedisClient, opts: ResolvedRedisOptions, closing: () => boolean) {
    this.#client = client;
    this.#opts = opts;
    this.#closing = closing;
    if (opts.publishBudget) {
      this.#timer = setInterval(() => {
        if (client.status === 'ready') this.publish();
      }, BUDGET_REFRESH_MS);
      this.#timer.unref?.();
    }
  }

  /** Writes (or refreshes) the entry; best effort. */
  publish(): void {
    if (!this.#opts.publishBudget || this.#closing()) return;
    const now = Math.floor(Date.now() / 1000);
    const first = !this.#published;
    this.#published = true;
    const p = this.#client.pipeline().hset(BUDGET_KEY, budgetField(this.#opts), `${this.#opts.common.max} ${now}`).expire(BUDGET_KEY, BUDGET_TTL_S).exec();
    void p.then(
      () => (first ? this.#prune(now) : undefined),
      () => undefined, // read-only replica, ACL: the fleet view just lacks this process
    );
  }

  /** Stops refreshing and drops the entry (the pool is closing). */
  stop(): void {
    clearInterval(this.#timer);
    if (this.#published && this.#client.status === 'ready') this.#client.hdel(BUDGET_KEY, budgetField(this.#opts)).catch(() => undefined);
  }

  async #prune(now: number): Promise<void> {
    try {
      const all = await this.#client.hgetall(BUDGET_KEY);
      const stale = Object.entries(all)
        .filter(([, v]) => now - Number(v.split(' ')[1] ?? 0) > BUDGET_STALE_S)
        .map(([k]) => k);
      if (stale.length > 0) await this.#client.hdel(BUDGET_KEY, ...stale);
    } catch {
      // best effort
    }
  }
}

function budgetField(opts: ResolvedRedisOptions): string {
  return redisConnectionName(opts.common.app, opts.common.name).slice('lifeguard:'.length);
}

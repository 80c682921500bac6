/** The connections of one CLI run, and one read-only pass over them (doctor once, monitor per refresh). */
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { AdminSnapshot } from '../admin.js';
import { collectPg, collectRedis, CollectError, endpointBudgets, fetchEndpoint, openPg, openRedis } from './collect.js';
import type { ServerSnapshot } from './rows.js';

/** Where to look. */
export interface Targets {
  /** PostgreSQL URL (`--pg`, else `DATABASE_URL`). */
  readonly pg: string | undefined;
  /** Redis URL (`--redis`, else `REDIS_URL`). */
  readonly redis: string | undefined;
  /** `lifeguard/http` endpoints (`--endpoint`, repeatable). */
  readonly endpoints: readonly string[];
}

/** What one pass read. */
export interface Pass {
  readonly snapshots: ServerSnapshot[];
  readonly endpoints: { readonly url: string; readonly snapshot: AdminSnapshot }[];
  readonly errors: CollectError[];
}

/** Connections kept open between passes; a failed one is reopened on the next pass. */
export class Session {
  readonly #targets: Targets;
  #redis: Redis | undefined;
  #pg: pg.Client | undefined;

  constructor(targets: Targets) {
    this.#targets = targets;
  }

  async #openRedis(url: string): Promise<Redis> {
    if (this.#redis !== undefined && this.#redis.status === 'ready') return this.#redis;
    this.#redis?.disconnect();
    this.#redis = undefined;
    this.#redis = await openRedis(url);
    return this.#redis;
  }

  async #openPg(url: string): Promise<pg.Client> {
    if (this.#pg !== undefined) return this.#pg;
    this.#pg = await openPg(url);
    this.#pg.on('error', () => {
      this.#pg = undefined;
    });
    return this.#pg;
  }

  /** One read-only pass over every target. */
  async pass(): Promise<Pass> {
    const t = this.#targets;
    const errors: CollectError[] = [];
    const endpoints: Pass['endpoints'] = [];
    await Promise.all(
      t.endpoints.map(async (url) => {
        try {
          endpoints.push({ url, snapshot: await fetchEndpoint(url) });
        } catch (err) {
          errors.push(err as CollectError);
        }
      }),
    );
    endpoints.sort((a, b) => t.endpoints.indexOf(a.url) - t.endpoints.indexOf(b.url));
    const data = endpoints.map((e) => e.snapshot);
    const snapshots: ServerSnapshot[] = [];
    // reads one server; on failure drops its connection (reopened next pass) and records why
    const read = async (kind: 'redis' | 'pg', url: string | undefined, collect: (url: string) => Promise<ServerSnapshot>, drop: () => void): Promise<void> => {
      if (url === undefined) return;
      try {
        snapshots.push(await collect(url));
      } catch (err) {
        drop();
        errors.push(err instanceof CollectError ? err : new CollectError(kind, url, String(err)));
      }
    };
    await Promise.all([
      read(
        'redis',
        t.redis,
        async (url) => collectRedis(await this.#openRedis(url), url, endpointBudgets(data, 'redis')),
        () => {
          this.#redis?.disconnect();
          this.#redis = undefined;
        },
      ),
      read(
        'pg',
        t.pg,
        async (url) => collectPg(await this.#openPg(url), url, endpointBudgets(data, 'pg')),
        () => {
          void this.#pg?.end().catch(() => undefined);
          this.#pg = undefined;
        },
      ),
    ]);
    snapshots.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'redis' ? -1 : 1));
    return { snapshots, endpoints, errors };
  }

  /** The open Redis connection (cleanup acts on it). */
  redis(): Promise<Redis> {
    return this.#openRedis(this.#targets.redis!);
  }

  /** The open PostgreSQL connection (cleanup acts on it). */
  pg(): Promise<pg.Client> {
    return this.#openPg(this.#targets.pg!);
  }

  /** Closes every connection. */
  async close(): Promise<void> {
    const r = this.#redis;
    const p = this.#pg;
    this.#redis = undefined;
    this.#pg = undefined;
    await Promise.all([r ? r.quit().catch(() => r.disconnect()) : undefined, p ? p.end().catch(() => undefined) : undefined]);
  }
}

/**
 * `lifeguard/http`: what this process's pools are doing, as JSON, for an admin port
 * (`lifeguard monitor --endpoint URL` reads it), plus the request-tag helpers.
 *
 * ```ts
 * import { createAdminHandler } from 'lifeguard/http';
 * http.createServer(createAdminHandler()).listen(9464, '127.0.0.1');
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CircuitState, DriverKind, LeaseInfo } from './core/events.js';
import type { PoolStats } from './core/pool.js';
import { registry, type RegisteredPool } from './core/registry.js';

export { requestTag, tagRequests, withRequestTag, type TaggableRequest, type TagOptions } from './http.js';

/** One outstanding lease or dedicated connection, as served. */
export interface AdminLease {
  readonly id: number;
  /** `lease`, `subscriber`, `listener` or `dedicated`. */
  readonly kind: LeaseInfo['kind'];
  readonly ageMs: number;
  /** Request tag, or null. */
  readonly tag: string | null;
  /** First application frame of the acquisition (`file:line:col`), or null. */
  readonly site: string | null;
  /** Why there is no site (`capture-off`, `not-sampled`, …), or null. */
  readonly noSite: string | null;
  /** The acquisition stack, only with `stacks: true`; else null. */
  readonly stack: string | null;
}

/** One pool of the process, as served. */
export interface AdminPool {
  readonly name: string;
  readonly driver: DriverKind;
  /** The `app` option (first part of the server-side names), or null for an unknown pool type. */
  readonly app: string | null;
  /** Where it connects, password masked, or null. */
  readonly target: string | null;
  /** The whole connection budget. */
  readonly max: number;
  /** Pooled connections open, leases out, idle, waiting callers. */
  readonly total: number;
  readonly active: number;
  readonly idle: number;
  readonly pending: number;
  /** Circuit breaker state. */
  readonly circuit: CircuitState;
  readonly healthy: boolean;
  /** Budget permits by holder kind, and free. */
  readonly budget: PoolStats['budget'];
  /** Every counter and percentile of `pool.stats()`. */
  readonly stats: PoolStats;
  /** Outstanding leases, oldest first. */
  readonly leases: readonly AdminLease[];
}

/** What the handler serves (field names are stable; `version` changes if they do). */
export interface AdminSnapshot {
  /** Format version. @default 1 */
  readonly version: 1;
  readonly pid: number;
  /** `Date.now()` when taken. */
  readonly time: number;
  /** Seconds since the process started. */
  readonly uptimeS: number;
  readonly pools: readonly AdminPool[];
}

/** Options of {@link createAdminHandler} and {@link adminSnapshot}. */
export interface AdminOptions {
  /**
   * Serve each lease's whole acquisition stack (file paths of your code) as well as its site.
   * @default false
   */
  stacks?: boolean;
  /**
   * Only answer this path (e.g. `'/lifeguard'`); other paths go to `next()` or get 404.
   * @default undefined (every path)
   */
  path?: string;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function describePool(p: RegisteredPool, stacks: boolean): AdminPool {
  const stats = p.stats();
  const extra = p as unknown as { app?: unknown; target?: unknown };
  return {
    name: p.name,
    driver: stats.driver,
    app: str(extra.app),
    target: str(extra.target),
    max: stats.max,
    total: stats.total,
    active: stats.active,
    idle: stats.idle,
    pending: stats.pending,
    circuit: stats.circuit,
    healthy: stats.healthy,
    budget: stats.budget,
    stats,
    leases: p.leases().map((l) => ({
      id: l.id,
      kind: l.kind,
      ageMs: Math.round(l.ageMs),
      tag: l.tag ?? null,
      site: l.site ?? null,
      noSite: l.noSite ?? null,
      stack: stacks ? (l.stack ?? null) : null,
    })),
  };
}

/** The open pools of this process (every copy of lifeguard loaded), their stats and leases. */
export function adminSnapshot(options: AdminOptions = {}): AdminSnapshot {
  const pools = [...registry.pools].map((p) => describePool(p, options.stacks === true)).sort((a, b) => a.name.localeCompare(b.name) || a.driver.localeCompare(b.driver));
  return { version: 1, pid: process.pid, time: Date.now(), uptimeS: Math.round(process.uptime()), pools };
}

/** A `node:http` handler (also Express / Connect middleware) serving {@link adminSnapshot} as JSON. */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

/**
 * A request handler serving this process's pools as JSON (`GET`; `HEAD` too). Mount it
 * on an admin port, not a public one: it shows code locations and request tags.
 */
export function createAdminHandler(options: AdminOptions = {}): AdminHandler {
  return (req, res, next) => {
    const path = (req.url ?? '/').split('?')[0];
    if (options.path !== undefined && path !== options.path) {
      if (next) return next();
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    let body: string;
    try {
      body = JSON.stringify(adminSnapshot(options));
    } catch (err) {
      if (next) return next(err);
      res.writeHead(500, { 'content-type': 'text/plain' }).end('lifeguard: could not describe the pools\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

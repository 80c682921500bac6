/**
 * Issue 17: `duplicate()` on a Redis pool's shared client, for libraries that open
 * their own connections from the client they are given (BullMQ: one blocking
 * connection per Worker, one per QueueEvents).
 *
 * ioredis' `duplicate()` is synchronous, so the budget is checked synchronously:
 * - a free permit: it is taken, and the copy connects at once;
 * - no free permit but an idle pooled connection: that connection is closed for the
 *   room, and the copy connects once its permit is back (its `connect()` waits for
 *   the permit, at most `acquireTimeoutMs`, then rejects with `ACQUIRE_TIMEOUT`);
 *   commands sent meanwhile wait in ioredis' offline queue;
 * - neither: `BudgetExhaustedError` (code `BUDGET_EXHAUSTED`) is thrown at once,
 *   naming what holds the budget. No connection is ever opened outside the budget.
 *
 * The copy is a real ioredis client (`Redis`, or `Cluster` for a cluster pool), named
 * like every connection of the pool, listed in `dedicatedConnections()` and
 * `leases()` as `dedicated`, and closed with the pool. Its permit comes back when it
 * is closed (`quit()` or `disconnect()`, as BullMQ does on `close()`).
 */
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import type { DedicatedState, DedicatedTracker } from '../core/dedicated.js';
import { BudgetExhaustedError } from '../core/errors.js';
import type { CorePool } from '../core/pool.js';
import type { SiteHolder } from '../core/site.js';
import type { RedisClient } from './topology.js';

/** What the pool gives the installer. */
export interface DuplicateContext<C extends RedisClient> {
  readonly core: CorePool<C, C>;
  readonly tracker: DedicatedTracker;
  readonly acquireTimeoutMs: number;
  /** Opens the copy (lazily connecting). */
  open(overrides: RedisOptions | undefined): C;
  /** Closes a connection, bounded. */
  close(c: C): Promise<void>;
  /** Where `duplicate()` was called, for reports. */
  site(): SiteHolder | undefined;
  /** Whether the pool is closing. */
  closing(): boolean;
  /** The pool closed: `POOL_CLOSED`. */
  closedError(): Error;
}

type ConnectFn = () => Promise<void>;

/** Replaces `client.duplicate` (an own property of the shared client) with the budgeted one. */
export function installDuplicate<C extends RedisClient>(client: C, ctx: DuplicateContext<C>): void {
  const duplicate = (...args: unknown[]): C => {
    if (ctx.closing()) throw ctx.closedError();
    // Redis.duplicate(options?) / Cluster.duplicate(startupNodes?, options?): node options either way
    const overrides = pickOverrides(args);
    const core = ctx.core;
    let permit: 'now' | 'shed';
    if (core.budget.tryTake('dedicated')) permit = 'now';
    else if (core.shedIdle()) permit = 'shed';
    else throw exhausted(core);
    const copy = ctx.open(overrides);
    const state: DedicatedState = ctx.tracker.newState('dedicated', ctx.site(), undefined, () => ctx.close(copy));
    // holding: the permit is ours (tracked, given back by tracker.close); cancelled: closed before that
    let holding = permit === 'now';
    let cancelled = false;
    let gotPermit: Promise<void> | undefined;
    let pending: Promise<void> | undefined;
    const realConnect = copy.connect.bind(copy) as ConnectFn;
    const realQuit = copy.quit.bind(copy) as (...a: unknown[]) => Promise<'OK'>;
    const realDisconnect = copy.disconnect.bind(copy) as (reconnect?: boolean) => void;
    const done = (): void => {
      if (holding) {
        if (!state.closed) void ctx.tracker.close(state, 'dedicated');
      } else {
        cancelled = true;
      }
    };
    // the permit before the socket: connect() (ours, ioredis' on the first command, BullMQ's) waits for it
    const connect: ConnectFn = () => {
      if (state.closed || cancelled) return Promise.reject(new Error('Connection is closed.'));
      gotPermit ??= holding
        ? Promise.resolve()
        : ctx.tracker.reserve('dedicated', ctx.acquireTimeoutMs, 'duplicate() connection').then(() => {
            if (cancelled) {
              core.budget.give('dedicated');
              throw new Error('Connection is closed.');
            }
            holding = true;
            ctx.tracker.track(copy, state);
          });
      gotPermit.catch(() => {
        cancelled = true;
        realDisconnect(false);
      });
      // one connect in flight: ours and the library's (BullMQ's waitUntilReady) share it
      pending ??= gotPermit.then(realConnect).finally(() => {
        pending = undefined;
      });
      return pending;
    };
    (copy as { connect: ConnectFn }).connect = connect;
    // closing it by any of its own methods returns the permit
    (copy as { quit: (...a: unknown[]) => Promise<'OK'> }).quit = (...a: unknown[]) => realQuit(...a).finally(done);
    (copy as { disconnect: (reconnect?: boolean) => void }).disconnect = (reconnect?: boolean) => {
      realDisconnect(reconnect);
      if (reconnect !== true) done();
    };
    copy.once('end', done);
    if (holding) ctx.tracker.track(copy, state);
    if (overrides?.lazyConnect !== true) void connect().catch(() => undefined);
    return copy;
  };
  (client as unknown as { duplicate: typeof duplicate }).duplicate = duplicate;
}

function pickOverrides(args: unknown[]): RedisOptions | undefined {
  // Cluster.duplicate(nodes, { redisOptions }) or Redis.duplicate(options)
  if (args.length >= 2 && typeof args[1] === 'object' && args[1] !== null) {
    const o = args[1] as { redisOptions?: RedisOptions };
    return o.redisOptions ?? (args[1] as RedisOptions);
  }
  const first = args[0];
  return typeof first === 'object' && first !== null && !Array.isArray(first) ? (first as RedisOptions) : undefined;
}

function exhausted<C extends RedisClient>(core: CorePool<C, C>): BudgetExhaustedError {
  const held = { ...core.budget.held };
  const s = core.stats();
  return new BudgetExhaustedError(
    `lifeguard: pool "${core.name}": duplicate() needs a connection but the budget of ${core.options.max} is full: ` +
      `${held.shared} shared, ${held.pooled} pooled (${s.active} in use, ${s.idle} idle), ${held.dedicated} dedicated, ` +
      `${held.subscriber} subscriber, ${held.listener} listener. A library that duplicates the client (a BullMQ Worker ` +
      `takes one, a QueueEvents one) needs room: raise max, or run fewer of them on this pool`,
    { pool: core.name, max: core.options.max, held },
  );
}

/** Narrowing helper for callers holding the concrete client type. */
export type DuplicateOf<C> = C extends Cluster ? Cluster : Redis;

/**
 * Opening a Redis pool's subscribers and dedicated connections inside its budget
 * (core's `openConnection` sequence, with ioredis's connect, bounded), and wiring
 * what they report: connection errors, and resubscription after a reconnect.
 */
import type { Redis } from 'ioredis';
import { contextStorage } from '../core/context.js';
import { openConnection } from '../core/handles.js';
import { scrubError, toError } from '../core/redact.js';
import type { PoolShell } from '../core/shell.js';
import type { SiteHolder } from '../core/site.js';
import { raceTimeout } from '../core/timeouts.js';
import { isRedisLimitError, OpenWatch } from './connection.js';
import type { ResolvedRedisOptions } from './options.js';
import { attachHandlers, DedicatedConnection, Subscriber, type SubscriberState } from './subscriber.js';
import { closeClient, type RedisClient, type Topology } from './topology.js';

/** Options of `subscriber()` and `dedicated()`. */
export interface DedicatedOptions {
  /**
   * How long to wait for room in the budget.
   * @default the pool's `acquireTimeoutMs`
   */
  timeoutMs?: number;
  /** Attribution in reports. @default the current `runWithTag` tag */
  tag?: string;
}

/** Internal: what opening needs of the pool. */
export interface OpenContext<C extends RedisClient> {
  readonly shell: PoolShell<C, C>;
  readonly topology: Topology<C>;
  readonly opts: ResolvedRedisOptions;
}

/** Internal: a subscriber: its connection, its handlers, resubscribe events. */
export async function openSubscriber<C extends RedisClient>(ctx: OpenContext<C>, site: SiteHolder | undefined, opts: DedicatedOptions | undefined): Promise<Subscriber> {
  const { shell } = ctx;
  const tag = opts?.tag ?? contextStorage.getStore()?.tag;
  const raw = (await open(ctx, 'subscriber', opts)) as Redis; // a Cluster has the same pub/sub surface
  const state: SubscriberState = {
    ...newState(ctx, 'subscriber', raw, site, tag),
    handlers: new Map(),
    patternHandlers: new Map(),
  };
  attachHandlers(raw, state, (err) => shell.connectionError(toError(err), `subscriber #${state.id} handler threw`));
  // ioredis subscribes again by itself after a reconnect; say so
  let connected = true;
  raw.on('close', () => {
    connected = false;
  });
  raw.on('ready', () => {
    if (connected || state.closed) return;
    connected = true;
    const hub = shell.hub;
    if (hub.active) {
      hub.emit({
        type: 'resubscribe',
        pool: shell.core.name,
        driver: 'redis',
        time: Date.now(),
        connection: 'subscriber',
        id: state.id,
        channels: [...state.channels],
        patterns: [...state.patterns],
      });
    }
  });
  const sub = new Subscriber(raw, state, shell.tracker);
  shell.tracker.track(sub, state);
  return sub;
}

/** Internal: a dedicated connection. */
export async function openDedicated<C extends RedisClient>(ctx: OpenContext<C>, site: SiteHolder | undefined, opts: DedicatedOptions | undefined): Promise<DedicatedConnection> {
  const tag = opts?.tag ?? contextStorage.getStore()?.tag;
  const raw = (await open(ctx, 'dedicated', opts)) as Redis;
  const state = newState(ctx, 'dedicated', raw, site, tag);
  const conn = new DedicatedConnection(raw, state, ctx.shell.tracker);
  ctx.shell.tracker.track(conn, state);
  return conn;
}

function newState<C extends RedisClient>(ctx: OpenContext<C>, kind: 'subscriber' | 'dedicated', raw: Redis, site: SiteHolder | undefined, tag: string | undefined) {
  const timeoutMs = ctx.opts.common.connectTimeoutMs;
  return ctx.shell.tracker.newState(kind, site, tag, (ms?: number) => closeClient(raw, ms ?? timeoutMs));
}

/** A connected, ready connection on the pool's database, inside the budget. */
async function open<C extends RedisClient>(ctx: OpenContext<C>, kind: 'subscriber' | 'dedicated', opts: DedicatedOptions | undefined): Promise<C> {
  const { shell, opts: o } = ctx;
  const core = shell.core;
  const connectTimeoutMs = o.common.connectTimeoutMs;
  let raw: C | undefined;
  let watch: OpenWatch | undefined;
  let opened = false;
  try {
    const ready = await openConnection(shell.tracker, {
      kind,
      timeoutMs: opts?.timeoutMs ?? o.common.acquireTimeoutMs,
      connect: async () => {
        const r = (raw = ctx.topology.dedicated((times: number) => core.retryStrategy(times), kind));
        r.on('error', (err: Error) => {
          if (!opened) return; // the first connect's failure is the caller's error, below
          shell.connectionError(err, `${kind} connection`);
          if (r.status !== 'ready') core.connectionFailure(err.message);
        });
        const w = (watch = new OpenWatch(r));
        await raceTimeout(r.connect(), connectTimeoutMs, () => new Error(`lifeguard: redis pool "${core.name}": no ready ${kind} connection within ${connectTimeoutMs} ms`));
        // a SELECT the server refused (db out of range) leaves a ready connection on db 0: refuse it
        if (w.reply !== undefined) throw w.reply;
        return r;
      },
      explain: async (err) => {
        raw?.disconnect();
        if (watch === undefined) return err;
        return scrubError(await watch.reason(err, o.target, connectTimeoutMs), o.secrets);
      },
      isLimitError: isRedisLimitError,
      destroy: (r) => r.disconnect(),
    });
    opened = true;
    return ready;
  } finally {
    watch?.stop();
  }
}

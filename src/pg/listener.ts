/**
 * LISTEN/NOTIFY on a dedicated connection inside the pg pool's budget: opening a
 * listener, keeping it listening across reconnects, and its handle. Like Redis
 * subscribers, a listener with an active LISTEN is held by the pool until close();
 * one with none left, dropped without close(), is closed and reported.
 */
import type pg from 'pg';
import type { DedicatedInfo, DedicatedState, DedicatedTracker } from '../core/dedicated.js';
import { contextStorage } from '../core/context.js';
import { ConnectionHandle, openConnection } from '../core/handles.js';
import { describeValue } from '../core/redact.js';
import type { PoolShell } from '../core/shell.js';
import type { SiteHolder } from '../core/site.js';
import type { PgPoolClient } from './client.js';
import type { PgDriver } from './driver.js';

/** Called with each notification: `(payload, channel)`. */
export type NotificationHandler = (payload: string | undefined, channel: string) => void;

/** Internal: not part of the published API. */
export interface ListenerState extends DedicatedState {
  readonly handlers: Map<string, NotificationHandler>;
  /** The current connection; replaced after a reconnect. */
  readonly conn: { client: pg.Client };
}

/** Internal: routes notifications to the state's handlers; never references the handle. */
export function attachNotifications(client: pg.Client, state: ListenerState, onError: (err: unknown) => void): void {
  client.on('notification', (msg: pg.Notification) => {
    state.lastMessageAt = Date.now();
    const h = state.handlers.get(msg.channel);
    if (!h) return;
    try {
      h(msg.payload, msg.channel);
    } catch (err) {
      onError(err);
    }
  });
}

/** A LISTEN connection of a pg pool. Close it when done. */
export class PgListener extends ConnectionHandle {
  readonly #state: ListenerState;

  /** @internal */
  constructor(state: ListenerState, tracker: DedicatedTracker) {
    super(state, tracker);
    this.#state = state;
  }

  get #client(): pg.Client {
    return this.#state.conn.client;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** `LISTEN channel`; `handler` gets `(payload, channel)` for each NOTIFY. */
  async listen(channel: string, handler: NotificationHandler): Promise<void> {
    this.check('listen() on');
    this.#state.handlers.set(channel, handler);
    this.#hold();
    await this.#client.query(`LISTEN ${this.#client.escapeIdentifier(channel)}`);
    this.#state.channels.add(channel);
  }

  /** `UNLISTEN channel` (all channels when none is given). */
  async unlisten(channel?: string): Promise<void> {
    this.check('unlisten() on');
    if (channel === undefined) {
      await this.#client.query('UNLISTEN *');
      this.#state.handlers.clear();
      this.#state.channels.clear();
      this.#hold();
      return;
    }
    await this.#client.query(`UNLISTEN ${this.#client.escapeIdentifier(channel)}`);
    this.#state.handlers.delete(channel);
    this.#state.channels.delete(channel);
    this.#hold();
  }

  /** Held strongly by the pool while it listens to a channel, weakly once it listens to none. */
  #hold(): void {
    this.hold(this.#state.handlers.size > 0);
  }

  /** What `listeners()` lists for this one. */
  info(): DedicatedInfo | undefined {
    return this.listed();
  }
}

/** Internal: what opening a listener needs of its pool. */
export interface ListenerContext {
  readonly shell: PoolShell<pg.Client, PgPoolClient>;
  readonly driver: Pick<PgDriver, 'create' | 'destroy' | 'isLimitError'>;
  readonly acquireTimeoutMs: number;
  /** Refuses when LISTEN cannot work (PgBouncer's transaction mode). */
  refuse(): void;
}

/**
 * Internal: opens a listener inside the budget, and keeps it listening: when its
 * connection drops, another is opened (same permit) and LISTENs again, with backoff.
 */
export async function openListener(ctx: ListenerContext, site: SiteHolder | undefined, opts: { timeoutMs?: number; tag?: string } | undefined): Promise<PgListener> {
  const { shell, driver } = ctx;
  const { core, tracker, hub } = shell;
  const tag = opts?.tag ?? contextStorage.getStore()?.tag;
  const client = await openConnection(tracker, {
    kind: 'listener',
    timeoutMs: opts?.timeoutMs ?? ctx.acquireTimeoutMs,
    refuse: ctx.refuse,
    connect: () => driver.create(),
    isLimitError: (err) => driver.isLimitError(err),
    destroy: (c) => driver.destroy(c),
  });
  const conn = { client };
  const state: ListenerState = {
    ...tracker.newState('listener', site, tag, () => driver.destroy(conn.client)),
    handlers: new Map(),
    conn,
  };
  const onHandlerError = (err: unknown): void => shell.log('error', `listener #${state.id} handler threw: ${describeValue(err)}`);
  const watch = (c: pg.Client): void => {
    // a listener connection that broke: reconnecting handles it (not a failure to connect)
    c.on('error', (err: Error) => shell.reportError(err));
    c.once('end', () => void reconnect(1));
    attachNotifications(c, state, onHandlerError);
  };
  // The connection dropped: open another (same budget permit) and LISTEN again.
  const reconnect = async (attempt: number): Promise<void> => {
    if (state.closed || core.closing) return;
    const delayMs = core.retryStrategy(attempt);
    if (delayMs === null) {
      shell.log('error', `listener #${state.id} gave up reconnecting`);
      void tracker.close(state, 'listener');
      return;
    }
    await new Promise<void>((r) => setTimeout(r, delayMs).unref());
    if (state.closed) return;
    let next: pg.Client | undefined;
    try {
      next = await driver.create();
      for (const ch of state.channels) await next.query(`LISTEN ${next.escapeIdentifier(ch)}`);
    } catch (err) {
      if (next !== undefined) void driver.destroy(next); // opened, but LISTEN failed
      else core.connectionFailure(err instanceof Error ? err.message : String(err));
      return reconnect(attempt + 1);
    }
    if (state.closed) {
      void driver.destroy(next);
      return;
    }
    conn.client = next;
    watch(next);
    if (hub.active) {
      hub.emit({ type: 'resubscribe', pool: core.name, driver: 'pg', time: Date.now(), connection: 'listener', id: state.id, channels: [...state.channels], patterns: [] });
    }
  };
  watch(client);
  const handle = new PgListener(state, tracker);
  tracker.track(handle, state);
  return handle;
}

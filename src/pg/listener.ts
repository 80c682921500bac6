/**
 * LISTEN/NOTIFY on a dedicated connection inside the pg pool's budget. Like Redis
 * subscribers, a listener with an active LISTEN is held by the pool until close();
 * one with none left, dropped without close(), is closed and reported.
 */
import type pg from 'pg';
import type { DedicatedInfo, DedicatedState, DedicatedTracker } from '../core/dedicated.js';

/** Called with each notification: `(payload, channel)`. */
export type NotificationHandler = (payload: string | undefined, channel: string) => void;

export interface ListenerState extends DedicatedState {
  readonly handlers: Map<string, NotificationHandler>;
  /** The current connection; replaced after a reconnect. */
  readonly conn: { client: pg.Client };
}

/** Routes notifications to the state's handlers; never references the handle. */
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
export class PgListener {
  readonly #state: ListenerState;
  readonly #tracker: DedicatedTracker;

  /** @internal */
  constructor(state: ListenerState, tracker: DedicatedTracker) {
    this.#state = state;
    this.#tracker = tracker;
  }

  get #client(): pg.Client {
    return this.#state.conn.client;
  }

  /** Unique id within the pool. */
  get id(): number {
    return this.#state.id;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#state.closed;
  }

  #check(what: string): void {
    if (this.#state.closed) throw new Error(`lifeguard: ${what} on listener #${this.#state.id}, which is closed`);
  }

  /** `LISTEN channel`; `handler` gets `(payload, channel)` for each NOTIFY. */
  async listen(channel: string, handler: NotificationHandler): Promise<void> {
    this.#check('listen()');
    this.#state.handlers.set(channel, handler);
    this.#hold();
    await this.#client.query(`LISTEN ${this.#client.escapeIdentifier(channel)}`);
    this.#state.channels.add(channel);
  }

  /** `UNLISTEN channel` (all channels when none is given). */
  async unlisten(channel?: string): Promise<void> {
    this.#check('unlisten()');
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
    this.#tracker.hold(this, this.#state, this.#state.handlers.size > 0);
  }

  /** Closes the connection and returns its budget permit; idempotent. */
  close(): Promise<void> {
    return this.#tracker.close(this.#state, 'listener');
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** What `listeners()` lists for this one. */
  info(): DedicatedInfo | undefined {
    return this.#tracker.list().find((i) => i.id === this.#state.id);
  }
}

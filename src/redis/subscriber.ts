/**
 * A dedicated pub/sub connection. While it has a subscription the pool holds it (it
 * stays alive until close(), referenced by the app or not). The connection's
 * listeners reach only the shared state, never the handle, so a handle with no
 * subscription left, dropped without close(), can be collected, and is then closed
 * and reported (`subscriber-lost`).
 */
import type { Redis } from 'ioredis';
import type { DedicatedInfo, DedicatedState, DedicatedTracker } from '../core/dedicated.js';
import type { LeaseHandle } from '../core/driver.js';
import { ConnectionHandle } from '../core/handles.js';
import { leaseClient } from './client.js';

/** Called with each message: `(message, channel)`, plus the pattern for pattern subscriptions. */
export type MessageHandler = (message: string, channel: string, pattern?: string) => void;

/** Internal: not part of the published API. */
export interface SubscriberState extends DedicatedState {
  readonly handlers: Map<string, MessageHandler>;
  readonly patternHandlers: Map<string, MessageHandler>;
}

/** Internal: wires the connection's message events to the state's handlers. */
export function attachHandlers(raw: Redis, state: SubscriberState, onError: (err: unknown) => void): void {
  raw.on('message', (channel: string, message: string) => {
    state.lastMessageAt = Date.now();
    const h = state.handlers.get(channel);
    if (h) invoke(h, onError, message, channel, undefined);
  });
  raw.on('pmessage', (pattern: string, channel: string, message: string) => {
    state.lastMessageAt = Date.now();
    const h = state.patternHandlers.get(pattern);
    if (h) invoke(h, onError, message, channel, pattern);
  });
  // issue 17: sharded pub/sub (Redis 7 SSUBSCRIBE), shares the channel handlers
  raw.on('smessage', (channel: string, message: string) => {
    state.lastMessageAt = Date.now();
    const h = state.handlers.get(channel);
    if (h) invoke(h, onError, message, channel, undefined);
  });
}

function invoke(h: MessageHandler, onError: (err: unknown) => void, message: string, channel: string, pattern: string | undefined): void {
  try {
    h(message, channel, pattern);
  } catch (err) {
    onError(err);
  }
}

/** A pub/sub connection of a Redis pool. Close it when done. */
export class Subscriber extends ConnectionHandle {
  readonly #raw: Redis;
  readonly #state: SubscriberState;

  /** @internal */
  constructor(raw: Redis, state: SubscriberState, tracker: DedicatedTracker) {
    super(state, tracker);
    this.#raw = raw;
    this.#state = state;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.isClosed;
  }

  /** Subscribes to one or more channels; `handler` gets `(message, channel)`. */
  async subscribe(channels: string | readonly string[], handler: MessageHandler): Promise<void> {
    this.check('subscribe() on');
    const list = typeof channels === 'string' ? [channels] : [...channels];
    for (const c of list) this.#state.handlers.set(c, handler);
    this.#hold();
    await this.#raw.subscribe(...list);
    for (const c of list) this.#state.channels.add(c);
  }

  /** Subscribes to patterns; `handler` gets `(message, channel, pattern)`. */
  async psubscribe(patterns: string | readonly string[], handler: MessageHandler): Promise<void> {
    this.check('psubscribe() on');
    const list = typeof patterns === 'string' ? [patterns] : [...patterns];
    for (const p of list) this.#state.patternHandlers.set(p, handler);
    this.#hold();
    await this.#raw.psubscribe(...list);
    for (const p of list) this.#state.patterns.add(p);
  }

  /**
   * issue 17: subscribes to sharded channels (Redis 7 `SSUBSCRIBE`; on a cluster pool
   * each shard's channels go to a connection to that shard). `handler` gets
   * `(message, channel)`. Listed with the channels.
   */
  async ssubscribe(channels: string | readonly string[], handler: MessageHandler): Promise<void> {
    this.check('ssubscribe() on');
    const list = typeof channels === 'string' ? [channels] : [...channels];
    for (const c of list) this.#state.handlers.set(c, handler);
    // one call per channel: on a cluster, channels of different slots cannot share one
    for (const c of list) await this.#raw.ssubscribe(c);
    for (const c of list) this.#state.channels.add(c);
  }

  /** issue 17: unsubscribes from sharded channels. */
  async sunsubscribe(...channels: string[]): Promise<void> {
    this.check('sunsubscribe() on');
    for (const c of channels) await this.#raw.sunsubscribe(c);
    for (const c of channels) {
      this.#state.handlers.delete(c);
      this.#state.channels.delete(c);
    }
  }

  /** Unsubscribes from channels (all when none are given). */
  async unsubscribe(...channels: string[]): Promise<void> {
    this.check('unsubscribe() on');
    await this.#raw.unsubscribe(...channels);
    const list = channels.length > 0 ? channels : [...this.#state.channels];
    for (const c of list) {
      this.#state.handlers.delete(c);
      this.#state.channels.delete(c);
    }
    this.#hold();
  }

  /** Unsubscribes from patterns (all when none are given). */
  async punsubscribe(...patterns: string[]): Promise<void> {
    this.check('punsubscribe() on');
    await this.#raw.punsubscribe(...patterns);
    const list = patterns.length > 0 ? patterns : [...this.#state.patterns];
    for (const p of list) {
      this.#state.patternHandlers.delete(p);
      this.#state.patterns.delete(p);
    }
    this.#hold();
  }

  /** Held strongly by the pool while it has a subscription, weakly once it has none. */
  #hold(): void {
    this.hold(this.#state.handlers.size + this.#state.patternHandlers.size > 0);
  }

  /** What `subscribers()` lists for this one. */
  info(): DedicatedInfo | undefined {
    return this.listed();
  }
}

/**
 * A long-lived Redis connection outside the pool, in the pool's budget. Close it
 * when done. Its `client` keeps the handle alive, so holding either is enough.
 */
export class DedicatedConnection extends ConnectionHandle implements LeaseHandle {
  readonly #client: Redis;

  /** @internal */
  constructor(raw: Redis, state: DedicatedState, tracker: DedicatedTracker) {
    super(state, tracker);
    this.#client = leaseClient(raw, this);
  }

  /** True once closed. */
  get released(): boolean {
    return this.isClosed;
  }

  /** The connection: any ioredis command, including blocking ones. Throws `LEASE_RELEASED` once closed. */
  get client(): Redis {
    this.assertUsable('client of');
    return this.#client;
  }

  /** Same as close(). */
  release(): void {
    void this.close();
  }

  /** @internal */
  assertUsable(what: string): void {
    this.check(what);
  }
}

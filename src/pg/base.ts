/**
 * What LifeguardPgPool is built on: the application's `pg.Pool` as its base class
 * (resolved at first use), and pg.Pool's positional events and debug lines.
 */
import type pg from 'pg';
import { EventEmitter } from 'node:events';
import type { DestroyReason } from '../core/events.js';
import { loadPg } from '../core/peer.js';

/** pg-pool's debug lines for the removal reasons it has. */
export const REMOVE_LOG: Partial<Record<DestroyReason, string>> = {
  'max-uses': 'remove expended client',
  idle: 'remove idle client',
  lifetime: 'remove expired client',
};

/** EventEmitter's own count, called directly: the pool's `listenerCount` override also answers for 'event'. */
export const emitterListenerCount = EventEmitter.prototype.listenerCount as (this: EventEmitter, event: string | symbol) => number;

/** pg.Pool's positional events, each a bit of `#listened`. */
export const PG_EVENTS = ['connect', 'acquire', 'release', 'remove', 'error'] as const;
export type PgEvent = (typeof PG_EVENTS)[number];
export const EVENT_BIT: Readonly<Record<PgEvent, number>> = { connect: 1, acquire: 2, release: 4, remove: 8, error: 16 };

/**
 * The base class of LifeguardPgPool: the application's `pg.Pool`, resolved when the
 * first pool is built rather than at import, so `lifeguard` loads without `pg`. Its
 * prototype chain is pointed at `pg.Pool` then, so `instanceof pg.Pool` holds.
 */
export const PgPoolBase = function PgPoolBase(this: unknown, ...args: unknown[]): object {
  const { Pool } = loadPg();
  if (Object.getPrototypeOf(PgPoolBase.prototype) !== Pool.prototype) {
    Object.setPrototypeOf(PgPoolBase.prototype, Pool.prototype);
    Object.setPrototypeOf(PgPoolBase, Pool);
  }
  return Reflect.construct(Pool, args, new.target as unknown as new (...a: unknown[]) => object) as object;
} as unknown as typeof pg.Pool;

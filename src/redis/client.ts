/**
 * The client a Redis lease hands out. ioredis has hundreds of command methods, so
 * this is a Proxy whose method wrappers are shared per command name (no allocation
 * per call or per lease beyond the proxy itself). Each call checks the lease is
 * still held, and the commands that change connection state (SELECT, WATCH, MULTI,
 * SUBSCRIBE, CLIENT TRACKING) are recorded so release can reset or destroy.
 */
import type { Redis } from 'ioredis';
import type { LeaseHandle } from '../core/driver.js';
import { kDetach } from '../core/lease.js';

/** State changes a lease made on its connection. */
export interface ConnState {
  watched: boolean;
  inMulti: boolean;
  /** Set when the connection cannot be reset (subscribe, tracking, monitor). */
  poisoned: string | undefined;
}

/** Internal: not part of the published API. */
export const kConnState = Symbol('lifeguard.redisConnState');
const kTarget = Symbol('lifeguard.redisLeaseTarget');

interface Target {
  readonly raw: Redis;
  readonly lease: LeaseHandle;
}

type Fn = (...args: unknown[]) => unknown;
const wrappers = new Map<string | symbol, Fn>();

/** Why `prop` is refused on a lease client: these open connections outside the pool's budget. */
function refusal(prop: string | symbol): string | undefined {
  // compared directly: this runs on every property read of a lease client
  return prop === 'duplicate' || prop === 'monitor' ? `${prop}() opens a connection outside the pool budget; use pool.dedicated()` : undefined;
}

export function connState(raw: Redis): ConnState {
  const r = raw as Redis & { [kConnState]?: ConnState };
  return (r[kConnState] ??= { watched: false, inMulti: false, poisoned: undefined });
}

/** Records what command `name` (with `args`) does to the connection's state. */
export function noteCommand(raw: Redis, name: string, args: readonly unknown[]): void {
  const n = name.toLowerCase();
  switch (n) {
    case 'watch':
      connState(raw).watched = true;
      break;
    case 'unwatch':
      connState(raw).watched = false;
      break;
    case 'exec':
    case 'discard': {
      const s = connState(raw);
      s.watched = false;
      s.inMulti = false;
      break;
    }
    case 'multi': {
      const opt = args[0] as { pipeline?: boolean } | undefined;
      // ioredis' default multi() is a client-side pipeline: nothing is sent before exec()
      if (opt !== undefined && typeof opt === 'object' && opt.pipeline === false) connState(raw).inMulti = true;
      break;
    }
    case 'subscribe':
    case 'psubscribe':
    case 'ssubscribe':
      connState(raw).poisoned = 'subscriber mode';
      break;
    case 'client':
      if (typeof args[0] === 'string' && /^tracking$/i.test(args[0])) connState(raw).poisoned = 'CLIENT TRACKING';
      break;
    case 'call':
    case 'callbuffer':
      if (typeof args[0] === 'string') {
        const sub = args[0].toLowerCase();
        if (sub === 'multi') connState(raw).inMulti = true;
        else noteCommand(raw, sub, args.slice(1));
      }
      break;
    case 'sendcommand': {
      const cmd = args[0] as { name?: unknown; args?: unknown[] } | undefined;
      if (cmd && typeof cmd.name === 'string') {
        if (cmd.name.toLowerCase() === 'multi') connState(raw).inMulti = true;
        else noteCommand(raw, cmd.name, cmd.args ?? []);
      }
      break;
    }
  }
}

const STATEFUL = new Set(['watch', 'unwatch', 'exec', 'discard', 'multi', 'subscribe', 'psubscribe', 'ssubscribe', 'client', 'call', 'callBuffer', 'sendCommand']);

function wrapperFor(name: string | symbol): Fn {
  let w = wrappers.get(name);
  if (w !== undefined) return w;
  const stateful = typeof name === 'string' && STATEFUL.has(name);
  const label = `${String(name)}() on`;
  w = function (this: { [kTarget]: Target }, ...args: unknown[]): unknown {
    // `lease.client.get(k)` reads the method through the trap, then calls it: the trap
    // left its target here, so the call needs no second trip through the proxy. Cleared
    // at once, so no lease is kept reachable from here.
    let t: Target;
    if (this === lastReceiver) {
      t = lastTarget!;
      lastReceiver = lastTarget = undefined;
    } else {
      t = this[kTarget];
    }
    if (t.lease.released && typeof args[args.length - 1] === 'function') {
      // callback form (`client.get(k, cb)`): the error goes to the callback, as ioredis reports errors
      let err: unknown;
      try {
        t.lease.assertUsable(label);
      } catch (e) {
        err = e;
      }
      process.nextTick(args[args.length - 1] as (e: unknown) => void, err);
      const p = Promise.reject(err);
      p.catch(noop); // the callback has it
      return p;
    }
    t.lease.assertUsable(label);
    if (stateful) noteCommand(t.raw, name as string, args);
    return (t.raw as unknown as Record<string | symbol, Fn>)[name]!(...args);
  };
  wrappers.set(name, w);
  return w;
}

function noop(): void {}

let lastReceiver: unknown;
let lastTarget: Target | undefined;

const handler: ProxyHandler<Target> = {
  get(target, prop, receiver) {
    if (prop === kTarget) return target;
    if (prop === kDetach) return undefined;
    const refused = refusal(prop);
    if (refused !== undefined) throw new TypeError(`lifeguard: ${refused}`);
    const value = (target.raw as unknown as Record<string | symbol, unknown>)[prop];
    if (typeof value === 'function') {
      lastReceiver = receiver;
      lastTarget = target;
      return wrapperFor(prop);
    }
    if (prop !== 'status' && prop !== 'then') target.lease.assertUsable(`${String(prop)} of`);
    return value;
  },
  set(target, prop, value) {
    target.lease.assertUsable(`setting ${String(prop)} on`);
    (target.raw as unknown as Record<string | symbol, unknown>)[prop] = value;
    return true;
  },
  has(target, prop) {
    return prop in target.raw;
  },
  getPrototypeOf(target) {
    return Object.getPrototypeOf(target.raw) as object;
  },
};

/** The leased client: an ioredis `Redis` while the lease is held. */
export function leaseClient(raw: Redis, lease: LeaseHandle): Redis {
  return new Proxy<Target>({ raw, lease }, handler) as unknown as Redis;
}

/**
 * The async context lifeguard keeps per request: the tag leases are attributed to,
 * and the leases held in this context (to see the nested-acquire deadlock coming).
 * Shared across duplicated copies of the package through `Symbol.for`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What one async context carries. `held` entries are opaque to this module. */
export interface Scope {
  readonly tag: string | undefined;
  held: object[];
}

const KEY = Symbol.for('lifeguard.context');
const g = globalThis as { [KEY]?: AsyncLocalStorage<Scope> };
export const contextStorage: AsyncLocalStorage<Scope> = (g[KEY] ??= new AsyncLocalStorage<Scope>());

/** Runs `fn` with every lease it takes tagged `tag`. */
export function runWithTag<T>(tag: string, fn: () => T): T {
  if (typeof tag !== 'string') throw new TypeError('lifeguard: runWithTag(tag, fn) needs a string tag');
  return contextStorage.run({ tag, held: [] }, fn);
}

/** The tag of the current async context, if any. */
export function currentTag(): string | undefined {
  return contextStorage.getStore()?.tag;
}

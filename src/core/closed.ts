/**
 * Who wants to know when a pool closes (the manager, to drop it from its map), without
 * the pools knowing the manager. A pool calls {@link poolClosed} once, at the end of
 * its close; callbacks that throw are ignored.
 */
const watchers = new WeakMap<object, () => void>();

/** Calls `fn` once when `pool` has closed (replaces an earlier callback). */
export function onPoolClosed(pool: object, fn: () => void): void {
  watchers.set(pool, fn);
}

/** Called by a pool at the end of its close. */
export function poolClosed(pool: object): void {
  const fn = watchers.get(pool);
  if (fn === undefined) return;
  watchers.delete(pool);
  try {
    fn();
  } catch {
    // the manager's bookkeeping must not fail a close
  }
}

/**
 * Bounded waits shared by the adapters: a probe raced against a timeout (a PING, a
 * connection's first connect) and a close that gives up waiting after a while.
 */

/**
 * `p`, or a rejection with `onTimeout()` once `timeoutMs` passed, whichever comes
 * first. A late rejection of `p` is absorbed (the timeout already answered).
 */
export async function raceTimeout<T>(p: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  p.catch(noop);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `p` at most `timeoutMs`: resolves by then at the latest (rejects if `p` rejects first). */
export async function settleWithin(p: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([p, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  } finally {
    clearTimeout(timer);
  }
}

function noop(): void {}

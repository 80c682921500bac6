/**
 * What every ioredis connection of a pool gets: a bound on the whole connection
 * handshake (ioredis's `connectTimeout` stops at the TCP accept; AUTH, SELECT,
 * CLIENT SETNAME and the ready check are unbounded), a command timeout that never
 * applies to blocking commands, and the test for the server's connection limit.
 */
import { createConnection } from 'node:net';
import type { Cluster, Command, Redis } from 'ioredis';
import { loadIoredis } from '../core/peer.js';

/** Commands that wait on the server by design: a command timeout never applies to them. */
const BLOCKING = new Set(['wait', 'waitaof']);

/** True for BLPOP, BRPOP, BLMOVE, BZPOPMIN, XREAD, WAIT and the other blocking commands. */
export function isBlockingCommand(name: string): boolean {
  return (CommandClass ??= loadIoredis().Command).checkFlag('BLOCKING_COMMANDS', name) || BLOCKING.has(name);
}

let CommandClass: typeof Command | undefined;

/**
 * ioredis's `commandTimeout`, except for blocking commands (`BLPOP key 0` must block
 * as long as it likes). lifeguard takes the option out of what ioredis sees and
 * applies it here, on a server's client and on a cluster client alike (every argument
 * is passed on: a cluster's `sendCommand` takes a node as well); nothing is installed
 * when it is not set.
 */
export function applyCommandTimeout(r: Redis | Cluster, timeoutMs: number | undefined): void {
  if (timeoutMs === undefined) return;
  const c = r as unknown as { sendCommand(command: Command, ...rest: unknown[]): unknown };
  const send = c.sendCommand;
  c.sendCommand = function (this: unknown, command: Command, ...rest: unknown[]): unknown {
    if (!isBlockingCommand(command.name)) command.setTimeout(timeoutMs);
    return send.call(this, command, ...rest);
  };
}

/**
 * Bounds the part of each (re)connection that ioredis leaves unbounded: from the TCP
 * accept to `ready`. A server that accepts and never answers (frozen, overloaded)
 * gets its socket destroyed after `timeoutMs`, which ioredis treats as a failed
 * attempt (an `error`, then its retry strategy).
 */
export function boundHandshake(r: Redis, timeoutMs: number, what: string): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const clear = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  r.on('connect', () => {
    clear();
    timer = setTimeout(() => {
      timer = undefined;
      if (r.status !== 'connect') return;
      const stream = (r as unknown as { stream?: { destroy(err?: Error): void } }).stream;
      stream?.destroy(handshakeTimeout(what, timeoutMs));
    }, timeoutMs);
    timer.unref?.();
  });
  r.on('ready', clear);
  r.on('close', clear);
  r.on('end', clear);
}

/** The error of a connection whose handshake got no answer in time. */
export function handshakeTimeout(what: string, timeoutMs: number): Error {
  return new Error(
    `lifeguard: ${what}: connected, but no ready connection within ${timeoutMs} ms (AUTH, SELECT, CLIENT SETNAME or the ready check got no answer)`,
  );
}

/** True when `error` is Redis refusing a connection at `maxclients`. */
export function isRedisLimitError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return /max number of clients reached|maxclients is reached/i.test(error.message);
}

/**
 * Watches a connection being opened, so that when it fails the reason given is the
 * server's (`ERR max number of clients reached`, `ECONNREFUSED`) rather than ioredis's
 * bare "Connection is closed.".
 */
export class OpenWatch {
  #last: unknown;
  #reply: unknown;
  #accepted = false;
  readonly #onError = (err: unknown): void => {
    this.#last = err;
    // the server's own words (e.g. "max number of clients reached") beat the EPIPE that follows
    if (err instanceof Error && err.name === 'ReplyError') this.#reply ??= err;
  };
  readonly #onConnect = (): void => {
    this.#accepted = true;
  };

  /**
   * Where to ask the server again: the options' host and port of a single server. Not
   * for a Sentinel-managed master (the options name the sentinels; the socket is gone by
   * the time the failure is seen, so its address cannot be read) nor a cluster.
   */
  readonly #remote: { host: string; port: number } | { path: string } | undefined;

  constructor(readonly r: Redis | Cluster) {
    const o = (r as unknown as { options?: { host?: string; port?: number; path?: string | null; sentinels?: unknown[] | null } }).options;
    this.#remote =
      o === undefined || (o.sentinels?.length ?? 0) > 0 || r instanceof loadIoredis().Cluster
        ? undefined
        : o.path
          ? { path: o.path }
          : { host: o.host ?? '127.0.0.1', port: o.port ?? 6379 };
    r.on('error', this.#onError);
    r.once('connect', this.#onConnect);
  }

  /** The last error seen, if any. */
  get last(): unknown {
    return this.#last;
  }

  /** The first error reply of the handshake (a refused AUTH, SELECT or CLIENT SETNAME). */
  get reply(): unknown {
    return this.#reply;
  }

  /** Stops watching. */
  stop(): void {
    this.r.removeListener('error', this.#onError);
    this.r.removeListener('connect', this.#onConnect);
  }

  /**
   * The error that says why opening failed, given what `connect()` rejected with.
   * Redis at `maxclients` accepts, writes its error and closes, and ioredis, writing its
   * handshake at once, gets EPIPE before it reads the reply; a proxy or load balancer
   * that accepts and closes looks the same. So a connection closed right after the
   * accept is asked once more, without writing (`firstWords`): only the server's own
   * "max number of clients reached" makes it a connection-limit error.
   */
  async reason(err: unknown, target: string, timeoutMs: number): Promise<unknown> {
    const last = this.#last;
    const generic = !(err instanceof Error) || err.message === 'Connection is closed.' || /EPIPE|ECONNRESET/.test(err.message);
    if (this.#reply !== undefined) return this.#reply;
    if (!generic || !this.#accepted) return generic && last instanceof Error ? last : err;
    const words = this.#remote === undefined ? '' : await firstWords(this.#remote, Math.min(timeoutMs, FIRST_WORDS_MS));
    if (isRedisLimitError(new Error(words))) {
      return new Error(`lifeguard: redis ${target}: the server refused the connection: ${words.replace(/^-/, '').trim()}`, { cause: last ?? err });
    }
    return new Error(
      `lifeguard: redis ${target}: the connection was closed right after it was accepted (${last instanceof Error ? last.message : 'closed'})`,
      { cause: last ?? err },
    );
  }
}

/** How long `firstWords` listens. */
const FIRST_WORDS_MS = 500;

/**
 * Connects once more to the server and returns what it
 * says on its own, without a command (Redis at maxclients says why it closes; a healthy one says
 * nothing): the first line, or '' when it closes or stays silent for `timeoutMs`.
 */
export function firstWords(to: { host: string; port: number } | { path: string }, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve) => {
    let text = '';
    const socket = 'path' in to ? createConnection({ path: to.path }) : createConnection({ host: to.host, port: to.port });
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(text.split('\r\n')[0] ?? '');
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n')) done();
    });
    socket.on('close', done);
    socket.on('error', done);
  });
}

/**
 * `r.connect()`, bounded as a whole (TCP connect and handshake) by `timeoutMs`;
 * rejects with the server's reason. Disconnects `r` on failure.
 */
export async function openBounded(r: Redis, timeoutMs: number, target: string, what: string): Promise<void> {
  const watch = new OpenWatch(r);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const connecting = r.connect();
    connecting.catch(() => undefined); // settles after the timeout too
    await Promise.race([
      connecting,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(handshakeTimeout(what, timeoutMs)), timeoutMs);
      }),
    ]);
    // CLIENT SETNAME's reply (an error when the server is full) arrives after connect
    if (r.status !== 'ready') throw watch.last ?? new Error(`connection ${r.status}`);
    // a SELECT the server refused (db out of range) leaves a ready connection on db 0: refuse it
    if (watch.reply !== undefined) throw watch.reply;
  } catch (err) {
    r.disconnect();
    throw await watch.reason(err, target, timeoutMs);
  } finally {
    clearTimeout(timer);
    watch.stop();
  }
}

/** QUIT when ready, else disconnect; either way within `timeoutMs` (then disconnect). */
export function closeBounded(r: Redis | Cluster, timeoutMs: number): Promise<void> {
  if (r.status === 'end') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      r.disconnect();
      resolve();
    }, timeoutMs);
    timer.unref?.();
    r.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    if (r.status === 'ready') r.quit().catch(() => r.disconnect());
    else r.disconnect();
  });
}

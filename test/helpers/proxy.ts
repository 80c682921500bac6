/**
 * An in-process TCP proxy between a client and a real server, for fault tests.
 *
 * - `pass`: new connections are forwarded both ways.
 * - `refuse`: new connections are accepted and destroyed at once.
 * - `stall`: new connections are accepted, no upstream connection is made, nothing is
 *   forwarded and nothing is answered.
 *
 * Modes apply to connections accepted afterwards; existing ones keep what they had.
 * `cut()` destroys every live connection (both sides) now, `setLatency(ms)` delays data
 * in both directions (order kept), `cutAfterBytes(n)` cuts later connections after `n`
 * bytes from the server. Socket errors are swallowed.
 */
import net from 'node:net';
import { type HostPort, withHostPort } from './env.js';

export type ProxyMode = 'pass' | 'refuse' | 'stall';

/** One direction of a proxied connection: chunks are written in order, each no earlier than its due time. */
class Pipe {
  readonly #queue: { at: number; chunk: Buffer }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #lastAt = 0;
  #ending = false;
  readonly to: net.Socket;
  readonly #latencyMs: () => number;

  constructor(to: net.Socket, latencyMs: () => number) {
    this.to = to;
    this.#latencyMs = latencyMs;
  }

  push(chunk: Buffer): void {
    const latency = this.#latencyMs();
    if (latency <= 0 && this.#queue.length === 0) {
      this.#write(chunk);
      return;
    }
    const at = Math.max(performance.now() + latency, this.#lastAt);
    this.#lastAt = at;
    this.#queue.push({ at, chunk });
    this.#pump();
  }

  /** Ends `to` once everything queued is written. */
  end(): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#pump();
  }

  dispose(): void {
    this.#ending = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue.length = 0;
  }

  #write(chunk: Buffer): void {
    if (!this.to.destroyed && this.to.writable) this.to.write(chunk);
  }

  #pump(): void {
    if (this.#timer) return;
    const now = performance.now();
    while (this.#queue.length > 0 && this.#queue[0]!.at <= now) this.#write(this.#queue.shift()!.chunk);
    const head = this.#queue[0];
    if (head) {
      this.#timer = setTimeout(
        () => {
          this.#timer = undefined;
          this.#pump();
        },
        Math.max(1, Math.ceil(head.at - now)),
      );
    } else if (this.#ending && !this.to.destroyed && !this.to.writableEnded) {
      // flushed to the kernel, then closed for good (the peer may never close its side)
      this.to.end(() => this.to.destroy());
    }
  }
}

interface Link {
  client: net.Socket;
  upstream: net.Socket | undefined;
  pipes: Pipe[];
}

export class FaultProxy {
  readonly host = '127.0.0.1';
  readonly #server: net.Server;
  readonly #target: HostPort;
  readonly #links = new Set<Link>();
  #mode: ProxyMode = 'pass';
  #latencyMs = 0;
  #cutAfter: { bytes: number; connections: number } | undefined;
  #closing: Promise<void> | undefined;
  #port = 0;
  /** Connections accepted so far (refused and stalled ones included). */
  accepted = 0;

  private constructor(target: HostPort) {
    this.#target = { ...target };
    this.#server = net.createServer((client) => this.#onConnection(client));
    this.#server.on('error', () => undefined);
  }

  /** Starts a proxy on 127.0.0.1, port 0, in front of `target`. */
  static async start(target: HostPort): Promise<FaultProxy> {
    const p = new FaultProxy(target);
    await new Promise<void>((resolve, reject) => {
      p.#server.once('error', reject);
      p.#server.listen(0, p.host, () => {
        p.#server.off('error', reject);
        p.#port = (p.#server.address() as net.AddressInfo).port;
        resolve();
      });
    });
    return p;
  }

  /** The port the proxy listens on. */
  get port(): number {
    return this.#port;
  }

  get target(): HostPort {
    return { ...this.#target };
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Proxied connections open now (one per client connection, stalled ones included). */
  get active(): number {
    return this.#links.size;
  }

  /** `protocol://127.0.0.1:port` + `rest`, e.g. `url('redis')`, `url('postgres', '/test')`. */
  url(protocol: string, rest = ''): string {
    return `${protocol}://${this.host}:${this.port}${rest}`;
  }

  /** `url` (user, path, query kept) pointed at the proxy instead of its own host and port. */
  via(url: string): string {
    return withHostPort(url, { host: this.host, port: this.port });
  }

  /** How connections accepted from now on are treated; existing connections are untouched. */
  setMode(mode: ProxyMode): void {
    this.#mode = mode;
  }

  /** Delays data in both directions by `ms` (0 = none), for live and new connections; order is kept. */
  setLatency(ms: number): void {
    this.#latencyMs = Math.max(0, ms);
  }

  /**
   * The next `connections` connections accepted (default: every one until called with
   * `null`) are cut, both sides, once `bytes` bytes went from the server to the client;
   * exactly `bytes` are delivered.
   */
  cutAfterBytes(bytes: number | null, { connections = Infinity }: { connections?: number } = {}): void {
    this.#cutAfter = bytes === null || connections <= 0 ? undefined : { bytes: Math.max(0, bytes), connections };
  }

  /** Destroys every live connection, client and upstream side, now. The mode stays as it is. */
  cut(): void {
    for (const link of [...this.#links]) this.#destroy(link);
  }

  /** Destroys every socket and closes the server; idempotent, never throws. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      try {
        this.#server.close(() => resolve());
      } catch {
        resolve();
      }
      this.cut();
    });
    return this.#closing;
  }

  #destroy(link: Link): void {
    this.#links.delete(link);
    for (const pipe of link.pipes) pipe.dispose();
    link.client.destroy();
    link.upstream?.destroy();
  }

  #onConnection(client: net.Socket): void {
    this.accepted++;
    client.on('error', () => undefined);
    if (this.#closing || this.#mode === 'refuse') {
      client.destroy();
      return;
    }
    const link: Link = { client, upstream: undefined, pipes: [] };
    this.#links.add(link);
    if (this.#mode === 'stall') {
      client.on('close', () => this.#destroy(link));
      client.resume(); // read and drop whatever the client says; never answer
      return;
    }

    let limit = Infinity;
    if (this.#cutAfter) {
      limit = this.#cutAfter.bytes;
      if (--this.#cutAfter.connections <= 0) this.#cutAfter = undefined;
    }

    const upstream = net.connect({ host: this.#target.host, port: this.#target.port });
    link.upstream = upstream;
    upstream.on('error', () => undefined);
    const latency = (): number => this.#latencyMs;
    const up = new Pipe(upstream, latency);
    const down = new Pipe(client, latency);
    link.pipes.push(up, down);

    client.on('data', (chunk: Buffer) => up.push(chunk));
    let delivered = 0;
    upstream.on('data', (chunk: Buffer) => {
      const room = limit - delivered;
      if (chunk.length < room) {
        delivered += chunk.length;
        down.push(chunk);
        return;
      }
      // the limit is reached: deliver exactly `limit` bytes, then close the client, and
      // with it (below) the upstream side
      delivered = limit;
      upstream.pause();
      if (room > 0) down.push(chunk.subarray(0, room));
      down.end();
      upstream.destroy();
    });

    // An orderly close (FIN) is passed on once the delayed data is out; an error resets
    // both sides. The connection is gone when both sockets are.
    const closed = new Set<net.Socket>();
    const onClose = (socket: net.Socket, other: Pipe) => (hadError: boolean) => {
      closed.add(socket);
      if (hadError || closed.size === 2) this.#destroy(link);
      else other.end();
    };
    client.on('end', () => up.end());
    upstream.on('end', () => down.end());
    client.on('close', onClose(client, up));
    upstream.on('close', onClose(upstream, down));
  }
}

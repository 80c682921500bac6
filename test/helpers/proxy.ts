/**
 * An in-process TCP proxy between a pool and a real server, for fault tests:
 * `pass` forwards, `refuse` closes new connections at once, `stall` accepts and never
 * answers, `cut()` destroys every live connection now, `setLatency(ms)` delays data.
 */
import net from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'stall';

export class FaultProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  #mode: ProxyMode = 'pass';
  #latencyMs = 0;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = net.createServer((client) => this.#onConnection(client));
  }

  /** Starts a proxy on 127.0.0.1, port 0, in front of `target`. */
  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const p = new FaultProxy(target);
    await new Promise<void>((resolve) => p.#server.listen(0, '127.0.0.1', resolve));
    return p;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Proxied connections open now (client side). */
  get active(): number {
    let n = 0;
    for (const s of this.#sockets) if ((s as net.Socket & { side?: string }).side === 'client') n++;
    return n;
  }

  setMode(mode: ProxyMode): void {
    this.#mode = mode;
  }

  setLatency(ms: number): void {
    this.#latencyMs = ms;
  }

  /** Destroys every live connection, both sides, now. */
  cut(): void {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
  }

  /** Closes everything; idempotent, never throws. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #track(s: net.Socket, side: 'client' | 'upstream'): void {
    (s as net.Socket & { side?: string }).side = side;
    this.#sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => this.#sockets.delete(s));
  }

  #onConnection(client: net.Socket): void {
    this.accepted++;
    this.#track(client, 'client');
    if (this.#mode === 'refuse') {
      client.destroy();
      return;
    }
    if (this.#mode === 'stall') return; // accepted, never answered
    const upstream = net.connect(this.#target.port, this.#target.host);
    this.#track(upstream, 'upstream');
    const forward = (from: net.Socket, to: net.Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (this.#latencyMs > 0) setTimeout(() => to.write(chunk), this.#latencyMs);
        else to.write(chunk);
      });
      from.on('close', () => to.destroy());
    };
    forward(client, upstream);
    forward(upstream, client);
  }
}

/**
 * An ephemeral redis-server on a free port, for tests that kill, restart or
 * reconfigure Redis. Never the shared one on 6379. Every child is killed when the
 * test process exits, even if a test forgot to stop it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StartRedisOptions {
  /** Port to listen on; a free one if not given. */
  port?: number;
  /** Extra redis-server arguments, e.g. `['--maxclients', '10']`. */
  args?: string[];
  /** How long to wait for the first PONG; default 10 s. */
  startTimeoutMs?: number;
  /**
   * A config file written into the server's directory and passed first (a sentinel,
   * `--sentinel`, needs one it can rewrite); `{dir}` in it is replaced by the directory.
   */
  configText?: string;
}

const HOST = '127.0.0.1';

/** Per process, not per module copy (test isolation may evaluate this file more than once). */
interface Registry {
  children: Set<ChildProcess>;
  dirs: Set<string>;
}
const REGISTRY = Symbol.for('lifeguard.test.ephemeral-redis');
const registry = ((globalThis as { [REGISTRY]?: Registry })[REGISTRY] ??= register());

function register(): Registry {
  const reg: Registry = { children: new Set(), dirs: new Set() };
  const killAll = (): void => {
    for (const child of reg.children) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of reg.dirs) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      // alone on this signal: keep the default behaviour (die of it)
      if (process.listenerCount(signal) === 1) {
        process.off(signal, onSignal);
        process.kill(process.pid, signal);
      }
    };
    process.on(signal, onSignal);
  }
  return reg;
}

/** A port nobody listens on right now (the OS's pick for port 0). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, HOST, resolve);
  });
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

/** One raw `PING`: true on `+PONG` within `timeoutMs`; the socket is always closed. */
export function answersPing(port: number, host = HOST, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let got = '';
    const timer = setTimeout(() => done(false), timeoutMs);
    function done(ok: boolean): void {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    }
    s.on('error', () => done(false));
    s.on('close', () => done(false));
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done(got.startsWith('+PONG'));
    });
    s.write('PING\r\n');
  });
}

/** Whether something accepts TCP connections on the port now. */
function accepts(port: number, host = HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export class EphemeralRedis {
  readonly host = HOST;
  readonly port: number;
  readonly args: readonly string[];
  readonly #startTimeoutMs: number;
  #configText: string | undefined;
  #dir: string | undefined;
  #child: ChildProcess | undefined;
  #output = '';

  private constructor(port: number, args: readonly string[], startTimeoutMs: number) {
    this.port = port;
    this.args = args;
    this.#startTimeoutMs = startTimeoutMs;
  }

  /** Same as {@link startRedisServer}; a number is the port. */
  static async start(options: StartRedisOptions | number = {}): Promise<EphemeralRedis> {
    const opts = typeof options === 'number' ? { port: options } : options;
    const timeout = opts.startTimeoutMs ?? 10_000;
    // another process may take a free port between the probe and redis binding it: try again
    for (let attempt = 1; ; attempt++) {
      const r = new EphemeralRedis(opts.port ?? (await freePort()), opts.args ?? [], timeout);
      r.#configText = opts.configText;
      try {
        await r.#spawn();
        return r;
      } catch (err) {
        await r.stop();
        if (opts.port !== undefined || attempt >= 3 || !/in use/i.test(String(err))) throw err;
      }
    }
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  /** The server's process id, while it runs. */
  get pid(): number | undefined {
    return this.#child && !exited(this.#child) ? this.#child.pid : undefined;
  }

  /** Its working directory (removed by stop()). */
  get dir(): string | undefined {
    return this.#dir;
  }

  get running(): boolean {
    return this.#child !== undefined && !exited(this.#child);
  }

  async #spawn(): Promise<void> {
    // a PONG must come from our server, never from one already on the port (6379!)
    if (await accepts(this.port)) throw new Error(`port ${this.port} is in use`);
    this.#dir ??= mkdtempSync(join(tmpdir(), 'lg-redis-'));
    registry.dirs.add(this.#dir);
    this.#output = '';
    const config: string[] = [];
    if (this.#configText !== undefined) {
      const file = join(this.#dir, 'server.conf');
      writeFileSync(file, this.#configText.replaceAll('{dir}', this.#dir));
      config.push(file);
    }
    const child = spawn(
      'redis-server',
      [...config, '--port', String(this.port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', this.#dir, ...this.args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    registry.children.add(child);
    child.once('exit', () => registry.children.delete(child));
    // a forgotten server must not keep the test process alive (the exit handler kills it)
    child.unref();
    const keep = (d: Buffer): void => {
      this.#output = (this.#output + d.toString()).slice(-4000);
    };
    for (const stream of [child.stdout, child.stderr]) {
      stream?.on('data', keep);
      (stream as unknown as net.Socket | null)?.unref();
    }

    const failure: { error?: Error } = {};
    child.on('error', (err) => {
      failure.error ??= err;
    });
    const deadline = performance.now() + this.#startTimeoutMs;
    for (;;) {
      if (failure.error) throw new Error(`redis-server did not start: ${failure.error.message}`);
      if (exited(child)) throw new Error(`redis-server on port ${this.port} exited (${child.exitCode ?? child.signalCode}): ${this.#output.trim()}`);
      if (await answersPing(this.port)) return;
      if (performance.now() > deadline) {
        throw new Error(`redis-server on port ${this.port} did not answer PING within ${this.#startTimeoutMs} ms: ${this.#output.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async #terminate(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child || child.pid === undefined || exited(child)) return;
    const exit = waitExit(child);
    child.kill(signal);
    if (signal === 'SIGTERM') {
      // never hang a test on a server that ignores SIGTERM
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    } else {
      await exit;
    }
  }

  /** SIGKILL and wait for the exit: the server is gone at once, its connections reset. */
  kill(): Promise<void> {
    return this.#terminate('SIGKILL');
  }

  /** Starts it again on the same port (stopping it first, gracefully, if it runs) and waits for PING. */
  async restart(): Promise<void> {
    await this.#terminate('SIGTERM');
    await this.#spawn();
  }

  /** SIGTERM, waits for the exit, removes its directory; idempotent. */
  async stop(): Promise<void> {
    await this.#terminate('SIGTERM');
    if (this.#dir) {
      rmSync(this.#dir, { recursive: true, force: true });
      registry.dirs.delete(this.#dir);
      this.#dir = undefined;
    }
  }
}

/**
 * Spawns `redis-server --port <free port> --bind 127.0.0.1 --save "" --appendonly no
 * --dir <tmpdir>` (plus `args`) and resolves once it answers PING.
 */
export function startRedisServer(opts: StartRedisOptions = {}): Promise<EphemeralRedis> {
  return EphemeralRedis.start(opts);
}

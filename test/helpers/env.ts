/** Where the test servers are: `REDIS_URL` / `DATABASE_URL`, with local defaults. */

export interface HostPort {
  host: string;
  port: number;
}

/** Redis for tests; `REDIS_URL` or the local server. */
export const REDIS_URL: string = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
/** PostgreSQL for tests; `DATABASE_URL` or the local `test` database. */
export const DATABASE_URL: string = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

function defaultPort(protocol: string): number {
  if (protocol.startsWith('redis')) return 6379;
  if (protocol.startsWith('postgres')) return 5432;
  throw new Error(`no default port for protocol ${JSON.stringify(protocol)}`);
}

/** Host and port of a URL (`redis:`, `rediss:`, `postgres:`, `postgresql:`), with the protocol's default port. */
export function hostPort(url: string): HostPort {
  const u = new URL(url);
  // IPv6 hosts come back bracketed from URL; net.connect wants them bare
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  return { host, port: u.port ? Number(u.port) : defaultPort(u.protocol) };
}

/** `{ host, port }` of `REDIS_URL`. */
export const REDIS: HostPort = hostPort(REDIS_URL);
/** `{ host, port }` of `DATABASE_URL`. */
export const PG: HostPort = hostPort(DATABASE_URL);

/** `url` with its host and port replaced (e.g. to go through a proxy); user, path and query are kept. */
export function withHostPort(url: string, { host, port }: HostPort): string {
  const u = new URL(url);
  u.hostname = host.includes(':') ? `[${host}]` : host;
  u.port = String(port);
  return u.toString();
}

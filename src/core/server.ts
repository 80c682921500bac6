/**
 * Where a pool connects, as metrics attributes (`server.address`, `server.port`).
 * Worked out once, from the options, with no password in it.
 */
import type { ServerAddress } from './meter.js';

/**
 * A URL's host and port (brackets of an IPv6 host removed; a `host` query parameter,
 * the Unix-socket form of PostgreSQL URLs, wins); undefined fields when absent.
 */
function fromUrl(url: string | undefined): { host: string | undefined; port: number | undefined } {
  if (url === undefined) return { host: undefined, port: undefined };
  try {
    const u = new URL(url);
    const host = u.searchParams.get('host') ?? u.hostname.replace(/^\[|\]$/g, '');
    return { host: host === '' ? undefined : decodeURIComponent(host), port: u.port === '' ? undefined : Number(u.port) };
  } catch {
    return { host: undefined, port: undefined };
  }
}

function toPort(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v !== '' ? Number(v) : NaN;
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** PostgreSQL as pg resolves it: the connection string, then `host`/`port`, then `PGHOST`/`PGPORT`, then localhost:5432. */
export function pgServer(
  config: { readonly connectionString?: string | undefined; readonly host?: string | undefined; readonly port?: number | string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): ServerAddress {
  const u = fromUrl(config.connectionString);
  return {
    address: u.host ?? config.host ?? env.PGHOST ?? 'localhost',
    port: u.port ?? toPort(config.port) ?? toPort(env.PGPORT) ?? 5432,
  };
}

/** Redis as ioredis resolves it: the URL, then `redisOptions.host`/`port`, then 127.0.0.1:6379. */
export function redisServer(url: string, options: { readonly host?: string | undefined; readonly port?: number | undefined; readonly path?: string | undefined }): ServerAddress {
  const u = fromUrl(url);
  if (options.path !== undefined) return { address: options.path, port: undefined };
  return { address: u.host ?? options.host ?? '127.0.0.1', port: u.port ?? options.port ?? 6379 };
}

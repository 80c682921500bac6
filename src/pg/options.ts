/**
 * PostgreSQL pool options: lifeguard's common options, pg.Pool's option names as
 * aliases, and every pg.ClientConfig field passed through to each connection.
 */
import type pg from 'pg';
import { ConfigError } from '../core/errors.js';
import { COMMON_KEYS, type CommonPoolOptions, MAX_DURATION_MS, type OptionChecker, type ResolvedCommonOptions, resolveCommonOptions, splitOptions } from '../core/options.js';
import { redactUrl, secretForms, urlPassword } from '../core/redact.js';
import { type PgBouncerMode, type PgBouncerOptions, type ResolvedBouncer, resolveBouncer } from './bouncer.js';

/** pg.ClientConfig fields handed to every connection as they are. */
export const PG_CLIENT_KEYS = [
  'user',
  'database',
  'password',
  'port',
  'host',
  'connectionString',
  'keepAlive',
  'stream',
  'statement_timeout',
  'ssl',
  'enableChannelBinding',
  'sslnegotiation',
  'query_timeout',
  'lock_timeout',
  'keepAliveInitialDelayMillis',
  'idle_in_transaction_session_timeout',
  'application_name',
  'fallback_application_name',
  'types',
  'options',
  'client_encoding',
  'pipeline',
] as const satisfies readonly (keyof pg.ClientConfig)[];

/** pg.Pool option names, accepted so that `new pg.Pool(config)` configs work unchanged. */
export const PG_POOL_KEYS = [
  'idleTimeoutMillis',
  'connectionTimeoutMillis',
  'maxLifetimeSeconds',
  'allowExitOnIdle',
  'Client',
  'Promise',
  'onConnect',
  'verify',
  'log',
  'poolSize',
  'binary',
  'parseInputDatesAsUTC',
] as const;

/** pg.Pool's default `idleTimeoutMillis`, lifeguard's default for PostgreSQL pools. */
export const PG_DEFAULT_IDLE_TIMEOUT_MS = 10_000;

/** Options of `createPgPool()` / `lg.pg()`. */
export interface PgPoolOptions extends CommonPoolOptions, Omit<pg.ClientConfig, 'connectionTimeoutMillis'> {
  /**
   * pg.Pool's name for `idleTimeoutMs`; 0 keeps idle connections.
   * @default 10000 (pg.Pool's, also the default of `idleTimeoutMs` for PostgreSQL pools)
   */
  idleTimeoutMillis?: number | null;
  /** pg.Pool's old name for `max`. */
  poolSize?: number;
  /**
   * pg.Pool's name for the connect wait: sets both `connectTimeoutMs` and
   * `acquireTimeoutMs` unless those are given. 0 means lifeguard's defaults, never "forever".
   */
  connectionTimeoutMillis?: number;
  /** pg.Pool's name for `maxLifetimeMs`, in seconds. */
  maxLifetimeSeconds?: number;
  /**
   * Let the process exit while connections sit idle (their sockets are unref'd).
   * @default false
   */
  allowExitOnIdle?: boolean;
  /**
   * The client class to instantiate.
   * @default pg.Client
   */
  Client?: new (config: pg.ClientConfig) => pg.Client;
  /** Accepted for pg.Pool compatibility; lifeguard always uses native promises. */
  Promise?: PromiseConstructorLike;
  /** Runs on each new connection before first use (pg.Pool's hook); a rejection fails that connect. */
  onConnect?: (client: pg.Client) => void | Promise<void>;
  /** pg.Pool's verify hook, called on each new connection before first use. */
  verify?: (client: pg.Client, done: (err?: Error) => void) => void;
  /**
   * pg.Pool's debug log function: called with pg-pool's lines at the same points
   * (`'connecting new client'`, `'new client connected'`, `'remove idle client'`,
   * `'remove expended client'`, …), never on the hot path.
   */
  log?: (...messages: unknown[]) => void;
  /** Ask the server for binary results (pg default). */
  binary?: boolean;
  /** pg default. */
  parseInputDatesAsUTC?: boolean;
  /**
   * issue 17: the pool connects through PgBouncer in transaction mode: refuse what
   * breaks there (`listener()`, `LISTEN`, session `SET` outside a transaction, named
   * prepared statements unless `preparedStatements: true`, session advisory locks)
   * with `PGBOUNCER_UNSUPPORTED`. `'transaction'` is `{ mode: 'transaction' }`.
   * @default false (a direct connection: nothing refused)
   */
  pgbouncer?: PgBouncerMode | PgBouncerOptions | false;
}

/** Resolved pg options: the common part, the client config and the pg.Pool extras. */
export interface ResolvedPgOptions {
  readonly common: ResolvedCommonOptions;
  /** Passed to each `new Client(...)`; holds the password, never printed. */
  readonly client: Readonly<pg.ClientConfig & { binary?: boolean; parseInputDatesAsUTC?: boolean }>;
  readonly Client: (new (config: pg.ClientConfig) => pg.Client) | undefined;
  readonly allowExitOnIdle: boolean;
  readonly onConnect: ((client: pg.Client) => void | Promise<void>) | undefined;
  readonly verify: ((client: pg.Client, done: (err?: Error) => void) => void) | undefined;
  readonly log: ((...messages: unknown[]) => void) | undefined;
  /** Strings to scrub from any error text (password, connection string). */
  readonly secrets: readonly string[];
  /** A safe description of where the pool connects, for messages. */
  readonly target: string;
  /** issue 17: PgBouncer transaction mode, when set. */
  readonly pgbouncer: ResolvedBouncer | undefined;
}

const PG_ALLOWED: ReadonlySet<string> = new Set([...COMMON_KEYS, ...PG_CLIENT_KEYS, ...PG_POOL_KEYS, 'pgbouncer']);

/** Validates and splits pg pool options. */
export function resolvePgOptions(input: PgPoolOptions, env: NodeJS.ProcessEnv = process.env): ResolvedPgOptions {
  const { raw, c, common } = splitOptions(input, 'pg', PG_ALLOWED, 'not a lifeguard, pg.Pool or pg.Client option');
  alias(c, raw, common, 'idleTimeoutMillis', 'idleTimeoutMs', (v) => (v === null ? 0 : c.ms('idleTimeoutMillis', v, 0)));
  common.idleTimeoutMs ??= PG_DEFAULT_IDLE_TIMEOUT_MS;
  alias(c, raw, common, 'poolSize', 'max', (v) => c.int('poolSize', v, 1));
  // pg.Pool spells "no limit" Infinity
  if (raw.maxUses === Infinity) common.maxUses = 0;
  alias(c, raw, common, 'maxLifetimeSeconds', 'maxLifetimeMs', (v) => c.int('maxLifetimeSeconds', v, 0, Math.floor(MAX_DURATION_MS / 1000)) * 1000);
  if (raw.connectionTimeoutMillis !== undefined) {
    const ms = c.ms('connectionTimeoutMillis', raw.connectionTimeoutMillis, 0);
    if (ms > 0) {
      if (common.connectTimeoutMs === undefined) common.connectTimeoutMs = ms;
      if (common.acquireTimeoutMs === undefined) common.acquireTimeoutMs = ms;
    }
  }
  if (common.app === undefined && typeof raw.application_name === 'string' && raw.application_name !== '') {
    common.app = raw.application_name;
  }
  const resolved = resolveCommonOptions(common, env);

  const client: Record<string, unknown> = {};
  for (const k of PG_CLIENT_KEYS) if (raw[k] !== undefined) client[k] = raw[k];
  if (raw.binary !== undefined) client.binary = raw.binary;
  if (raw.parseInputDatesAsUTC !== undefined) client.parseInputDatesAsUTC = raw.parseInputDatesAsUTC;

  checkClientOptions(c, raw);
  const secrets: string[] = [];
  if (typeof raw.password === 'string' && raw.password.length > 0) secrets.push(...secretForms(raw.password));
  let target = 'PostgreSQL';
  if (raw.connectionString !== undefined) {
    if (typeof raw.connectionString !== 'string' || raw.connectionString === '') {
      c.fail('connectionString', 'a non-empty string', typeof raw.connectionString === 'string' ? '' : typeof raw.connectionString);
    }
    const cs = raw.connectionString as string;
    const pw = urlPassword(cs);
    if (pw) secrets.push(...secretForms(pw));
    secrets.push(cs);
    const invalid = connectionStringProblem(cs);
    if (invalid !== undefined) {
      throw new ConfigError(`lifeguard: pool "${resolved.name}": option connectionString ${invalid}: ${redactUrl(cs)}`, {
        pool: resolved.name,
        option: 'connectionString',
      });
    }
    const parsedPw = cs.startsWith('/') ? '' : new URL(cs.replace('@/', '@dummy/')).password;
    if (parsedPw) secrets.push(...secretForms(parsedPw));
    target = redactUrl(cs);
  } else if (raw.host !== undefined || raw.port !== undefined) {
    target = `postgres://${String(raw.host ?? 'localhost')}:${String(raw.port ?? 5432)}`;
  }
  for (const k of ['Client', 'onConnect', 'verify', 'log'] as const) {
    if (raw[k] !== undefined && typeof raw[k] !== 'function') c.fail(k, 'a function', raw[k]);
  }
  if (raw.allowExitOnIdle !== undefined && typeof raw.allowExitOnIdle !== 'boolean') c.fail('allowExitOnIdle', 'a boolean', raw.allowExitOnIdle);

  return Object.freeze({
    common: resolved,
    client: Object.freeze(client) as ResolvedPgOptions['client'],
    Client: raw.Client as ResolvedPgOptions['Client'],
    allowExitOnIdle: raw.allowExitOnIdle === true,
    onConnect: raw.onConnect as ResolvedPgOptions['onConnect'],
    verify: raw.verify as ResolvedPgOptions['verify'],
    log: raw.log as ResolvedPgOptions['log'],
    secrets: Object.freeze(secrets.filter((s) => s.length > 0)),
    target,
    pgbouncer: resolveBouncer(c, raw.pgbouncer),
  });
}

function alias(
  c: OptionChecker,
  raw: Record<string, unknown>,
  common: Record<string, unknown>,
  pgName: string,
  ours: string,
  convert: (v: unknown) => number,
): void {
  if (raw[pgName] === undefined) return;
  if (raw[ours] !== undefined) c.fail(pgName, `left out when ${ours} is given (they set the same thing)`, raw[pgName]);
  common[ours] = convert(raw[pgName]);
}

/**
 * Why a connection string would not connect where it says, or undefined when it is
 * fine: pg reads anything that is not a URL as a path relative to `postgres://base`.
 */
export function connectionStringProblem(cs: string): string | undefined {
  if (cs.startsWith('/')) return undefined; // a Unix socket directory
  if (!/^(postgres|postgresql|socket):\/\//i.test(cs)) return 'must be a postgres:// or postgresql:// URL (or a socket path)';
  let url: URL;
  try {
    url = new URL(cs);
  } catch {
    // `postgres://user@/db?host=/socket/dir`: an empty host, as pg-connection-string accepts it
    try {
      url = new URL(cs.replace('@/', '@dummy/'));
      if (!/[?&]host=/.test(cs)) return 'must name a host';
    } catch {
      return 'is not a valid URL (percent-encode a password\'s special characters with encodeURIComponent)';
    }
  }
  if (!/^socket:$/i.test(url.protocol) && url.hostname === '' && !/[?&]host=/.test(cs)) return 'must name a host';
  if (url.port !== '' && !(Number(url.port) >= 1 && Number(url.port) <= 65_535)) return 'has a port out of range';
  return undefined;
}

/** Types and ranges of the pg.Client options lifeguard passes on; a password's value is never shown. */
function checkClientOptions(c: OptionChecker, raw: Record<string, unknown>): void {
  for (const k of ['user', 'database', 'host', 'application_name', 'fallback_application_name', 'options', 'client_encoding'] as const) {
    if (raw[k] !== undefined && typeof raw[k] !== 'string') c.fail(k, 'a string', raw[k]);
  }
  const pw = raw.password;
  if (pw !== undefined && pw !== null && typeof pw !== 'string' && typeof pw !== 'function') c.fail('password', 'a string or a function', typeof pw);
  const port = raw.port;
  if (port !== undefined) {
    const n = typeof port === 'string' && /^[0-9]{1,5}$/.test(port) ? Number(port) : port;
    c.int('port', n, 1, 65_535);
  }
  const ssl = raw.ssl;
  if (ssl !== undefined && typeof ssl !== 'boolean' && (typeof ssl !== 'object' || ssl === null || Array.isArray(ssl))) {
    c.fail('ssl', 'a boolean or an object of tls.connect options', ssl);
  }
  for (const k of ['keepAlive', 'enableChannelBinding', 'binary', 'parseInputDatesAsUTC'] as const) {
    if (raw[k] !== undefined && typeof raw[k] !== 'boolean') c.fail(k, 'a boolean', raw[k]);
  }
  for (const k of ['statement_timeout', 'query_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout'] as const) {
    if (raw[k] !== undefined && raw[k] !== false) c.ms(k, raw[k], 0);
  }
  if (raw.keepAliveInitialDelayMillis !== undefined) c.ms('keepAliveInitialDelayMillis', raw.keepAliveInitialDelayMillis, 0);
  if (raw.types !== undefined && (typeof raw.types !== 'object' || raw.types === null)) c.fail('types', 'an object', raw.types);
}

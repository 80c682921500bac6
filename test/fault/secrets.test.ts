/**
 * The secrets suite (issue 12): no password in anything lifeguard hands out.
 *
 * Servers that really check passwords: an own redis-server with `requirepass`, and a
 * throwaway PostgreSQL cluster with SCRAM (the shared one on 5432 trusts every local
 * connection). For each driver, password and placement (URL, options) two scenarios
 * run: a wrong password, and a rotated one (right at first, then changed on the server
 * and the connections killed). Every error (util.inspect'ed and JSON-serialised, own
 * properties such as ioredis's `err.command.args` included), every event, log line,
 * lease list, leak report and `pool.target` is grepped for every spelling of the
 * password the pool was given: zero hits.
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createPgPool, createRedisPool, type LifeguardPgPool, type LifeguardRedisPool, type Logger } from '../../src/index.js';
import { leakReport } from '../../src/testing/index.js';
import { waitFor } from '../helpers/events.js';
import { ThrowawayPg } from '../helpers/pg-server.js';
import { EphemeralRedis } from '../helpers/redis-server.js';
import { unique } from '../helpers/unique.js';

/** URL-special characters and non-ASCII; no quote (they go into SQL and redis.conf as they are). */
const PASSWORDS = ['Pw/with@all:the%special#chars?x=1&y', 'ünïcødé-🔑-Pässwörd/@:%#', 'plain-but-long-password-0123456789'];
const OTHER = 'Rotated-NEW-pw/@:%#-ü';

/** Every spelling of a password that could be printed: as given, URL-encoded, and as WHATWG URL encodes user-info. */
function secretForms(pw: string): string[] {
  const u = new URL('redis://h');
  u.password = pw;
  return [...new Set([pw, encodeURIComponent(pw), u.password])];
}

/** Everything a pool handed out during a scenario. */
class Outputs {
  readonly items: unknown[] = [];
  readonly lines: string[] = [];
  readonly logger: Logger;
  constructor() {
    const rec = (m: string, ...meta: unknown[]): void => {
      this.lines.push(m);
      this.items.push(...meta);
    };
    this.logger = { error: rec, warn: rec, info: rec, debug: rec };
  }
  /** Runs `fn`, keeping what it resolves or rejects with. */
  async settle(fn: () => Promise<unknown>): Promise<unknown> {
    try {
      const v = await fn();
      this.items.push(v);
      return v;
    } catch (err) {
      this.items.push(err);
      return err;
    }
  }
}

/** Every way an object is printed: util.inspect, JSON.stringify, and a pino-style error serializer. */
function renderings(x: unknown): string[] {
  const out = [inspect(x, { depth: 10 }), inspect(x, { depth: 10, showHidden: true })];
  try {
    out.push(JSON.stringify(x) ?? '');
  } catch {
    out.push('');
  }
  if (x instanceof Error) {
    const seen = new Set<unknown>();
    const ser = (e: unknown): unknown => {
      if (!(e instanceof Error) || seen.has(e)) return e;
      seen.add(e);
      return { ...e, type: e.name, message: e.message, stack: e.stack, cause: ser((e as { cause?: unknown }).cause) };
    };
    out.push(JSON.stringify(ser(x)));
  }
  return out;
}

function expectNoSecret(out: Outputs, pool: { target: string; leases(): unknown }, password: string): void {
  const forms = secretForms(password);
  const texts = [...out.lines, pool.target, ...renderings(pool.leases()), ...renderings(leakReport()), ...out.items.flatMap(renderings)];
  const hits = texts.filter((t) => forms.some((f) => t.includes(f)));
  expect(hits, `found the password in ${hits.length} outputs`).toEqual([]);
}

const poolOptions = (out: Outputs) =>
  ({
    name: unique('sec'),
    logger: out.logger,
    max: 3,
    connectTimeoutMs: 1000,
    acquireTimeoutMs: 1500,
    reconnect: { baseMs: 10, maxMs: 50, maxAttempts: 3 },
    healthCheck: { intervalMs: 50, failureThreshold: 1 },
  }) as const;

describe('Redis: passwords never printed', () => {
  let server: EphemeralRedis;
  beforeAll(async () => {
    server = await EphemeralRedis.start();
  });
  afterAll(async () => {
    await server.stop();
  });

  async function setPassword(pw: string, current: string | undefined): Promise<void> {
    const admin = new Redis(server.port, server.host, { password: current, retryStrategy: () => null, lazyConnect: true });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.config('SET', 'requirepass', pw);
    // every other client must log in again
    await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    admin.disconnect();
  }

  const redisPool = (out: Outputs, pw: string, inUrl: boolean): LifeguardRedisPool =>
    createRedisPool({
      ...poolOptions(out),
      url: inUrl ? `redis://:${encodeURIComponent(pw)}@${server.host}:${server.port}` : server.url,
      redisOptions: inUrl ? {} : { password: pw },
    });

  async function exercise(out: Outputs, pool: LifeguardRedisPool): Promise<void> {
    pool.on('event', (e) => out.items.push(e));
    await out.settle(() => pool.withConnection((r) => r.ping()));
    await out.settle(async () => {
      const lease = await pool.acquire({ tag: 'secrets' });
      lease.release();
    });
    await out.settle(() => pool.client.get('k'));
    await out.settle(() => pool.subscriber().then((s) => s.close()));
    await out.settle(() => pool.dedicated().then((d) => d.close()));
  }

  for (const pw of PASSWORDS) {
    for (const inUrl of [true, false]) {
      const where = inUrl ? 'in the URL' : 'in redisOptions';
      it(`wrong password ${JSON.stringify(pw)} ${where}`, async () => {
        await setPassword(OTHER, undefined).catch(() => setPassword(OTHER, OTHER));
        const out = new Outputs();
        const pool = redisPool(out, pw, inUrl);
        try {
          await exercise(out, pool);
          await waitFor(() => out.items.some((i) => i instanceof Error && /WRONGPASS|invalid password/i.test(i.message)));
          expect(out.items.some((i) => (i as { type?: string }).type === 'error')).toBe(true);
          expectNoSecret(out, pool, pw);
        } finally {
          await pool.close({ timeoutMs: 0 });
        }
        expectNoSecret(out, pool, pw);
      });

      it(`rotated password ${JSON.stringify(pw)} ${where}`, async () => {
        await setPassword(pw, OTHER).catch(() => setPassword(pw, undefined));
        const out = new Outputs();
        const pool = redisPool(out, pw, inUrl);
        try {
          expect(await pool.withConnection((r) => r.ping())).toBe('PONG');
          expect(await pool.client.ping()).toBe('PONG');
          const held = await pool.acquire({ tag: 'held across the rotation' });
          await setPassword(OTHER, pw);
          await exercise(out, pool);
          await waitFor(() => out.items.some((i) => i instanceof Error && /WRONGPASS|invalid password/i.test(i.message)));
          // the shared client's own AUTH failure: its error carries the AUTH command and its args
          await waitFor(() => out.items.some((i) => (i as { type?: string; error?: { command?: unknown } }).type === 'error'));
          expectNoSecret(out, pool, pw);
          held.release();
        } finally {
          await pool.close({ timeoutMs: 0 });
        }
        expectNoSecret(out, pool, pw);
      });
    }

    it(`an unencoded password ${JSON.stringify(pw)} in the URL never shows in a ConfigError or the target`, async () => {
      const out = new Outputs();
      const err = await out.settle(async () => {
        const pool = createRedisPool({ ...poolOptions(out), url: `redis://:${pw}@${server.host}:${server.port}` });
        out.items.push(pool.target);
        await out.settle(() => pool.client.ping());
        await pool.close({ timeoutMs: 0 });
      });
      void err;
      expectNoSecret(out, { target: '', leases: () => [] }, pw);
    });
  }
});

describe('PostgreSQL: passwords never printed', () => {
  let server: ThrowawayPg;
  const user = 'lg_secret_user';
  beforeAll(async () => {
    server = await ThrowawayPg.start();
    server.sql(`CREATE ROLE ${user} LOGIN PASSWORD $p$${OTHER}$p$`);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  const setPassword = (pw: string): void => {
    server.sql(`ALTER ROLE ${user} PASSWORD $p$${pw}$p$`);
    server.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${user}'`);
  };

  const pgPool = (out: Outputs, pw: string, inUrl: boolean): LifeguardPgPool =>
    createPgPool({
      ...poolOptions(out),
      ...(inUrl
        ? { connectionString: `postgres://${user}:${encodeURIComponent(pw)}@${server.host}:${server.port}/postgres` }
        : { host: server.host, port: server.port, user, password: pw, database: 'postgres' }),
    });

  async function exercise(out: Outputs, pool: LifeguardPgPool): Promise<void> {
    pool.on('event', (e) => out.items.push(e));
    pool.on('error', (e: unknown) => out.items.push(e));
    await out.settle(() => pool.query('select 1'));
    await out.settle(() => pool.withConnection((c) => c.query('select 1')));
    await out.settle(() => pool.withTransaction((c) => c.query('select 1')));
    await out.settle(async () => {
      const client = await pool.connect();
      client.release();
    });
    await out.settle(() => pool.listener().then((l) => l.close()));
  }

  for (const pw of PASSWORDS) {
    for (const inUrl of [true, false]) {
      const where = inUrl ? 'in the connection string' : 'in the options';
      it(`wrong password ${JSON.stringify(pw)} ${where}`, async () => {
        setPassword(OTHER);
        const out = new Outputs();
        const pool = pgPool(out, pw, inUrl);
        try {
          await exercise(out, pool);
          expect(out.items.some((i) => i instanceof Error && /password authentication failed/.test(i.message))).toBe(true);
          expectNoSecret(out, pool, pw);
        } finally {
          await pool.close({ timeoutMs: 0 });
        }
        expectNoSecret(out, pool, pw);
      });

      it(`rotated password ${JSON.stringify(pw)} ${where}`, async () => {
        setPassword(pw);
        const out = new Outputs();
        const pool = pgPool(out, pw, inUrl);
        try {
          expect((await pool.query('select 1 as n')).rows[0].n).toBe(1);
          const held = await pool.acquire({ tag: 'held across the rotation' });
          out.items.push(leakReport());
          setPassword(OTHER);
          await exercise(out, pool);
          expect(out.items.some((i) => i instanceof Error && /password authentication failed/.test(i.message))).toBe(true);
          expectNoSecret(out, pool, pw);
          held.release();
        } finally {
          await pool.close({ timeoutMs: 0 });
        }
        expectNoSecret(out, pool, pw);
      });
    }

    it(`an unencoded password ${JSON.stringify(pw)} in the connection string never shows in a ConfigError or the target`, async () => {
      const out = new Outputs();
      await out.settle(async () => {
        const pool = createPgPool({ ...poolOptions(out), connectionString: `postgres://${user}:${pw}@${server.host}:${server.port}/postgres` });
        out.items.push(pool.target);
        await out.settle(() => pool.query('select 1'));
        await pool.close({ timeoutMs: 0 });
      });
      expectNoSecret(out, { target: '', leases: () => [] }, pw);
    });
  }
});

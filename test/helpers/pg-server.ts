/**
 * A throwaway PostgreSQL cluster (initdb + pg_ctl) on a free port with SCRAM password
 * authentication, for tests that need a password to be checked: the shared server on
 * 5432 trusts every local connection, and its configuration is not ours to change.
 * Runs as the `postgres` user when the tests run as root. Takes ~3 s to start.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(join(base, v, 'bin', 'initdb'))) return join(base, v, 'bin');
  throw new Error('no PostgreSQL binaries under /usr/lib/postgresql/*/bin');
}

function postgresUid(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const out = execFileSync('id', ['-u', 'postgres']).toString().trim();
  const gid = execFileSync('id', ['-g', 'postgres']).toString().trim();
  return { uid: Number(out), gid: Number(gid) };
}

export class ThrowawayPg {
  readonly host = '127.0.0.1';
  readonly #bin: string;
  readonly #asPostgres: boolean;
  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly superPassword: string,
    bin: string,
    asPostgres: boolean,
  ) {
    this.#bin = bin;
    this.#asPostgres = asPostgres;
  }

  /** initdb with SCRAM for TCP, trust for the Unix socket (the helper's own admin link). */
  static async start(superPassword = 'admin-pw-not-tested'): Promise<ThrowawayPg> {
    const bin = binDir();
    const owner = postgresUid();
    const dir = mkdtempSync(join(tmpdir(), 'lg-pg-'));
    const pwFile = join(dir, 'pw');
    writeFileSync(pwFile, `${superPassword}\n`);
    if (owner) {
      chownSync(dir, owner.uid, owner.gid);
      chownSync(pwFile, owner.uid, owner.gid);
    }
    chmodSync(dir, 0o700);
    const pg = new ThrowawayPg(await freePort(), dir, superPassword, bin, owner !== undefined);
    pg.#run('initdb', ['-D', join(dir, 'data'), '--auth-host=scram-sha-256', '--auth-local=trust', `--pwfile=${pwFile}`, '-U', 'postgres']);
    pg.#run('pg_ctl', [
      '-D', join(dir, 'data'), '-w', '-l', join(dir, 'log'),
      '-o', `-p ${pg.port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=16MB`,
      'start',
    ]);
    return pg;
  }

  #run(tool: string, args: string[]): string {
    const cmd = join(this.#bin, tool);
    const out = this.#asPostgres ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' }) : execFileSync(cmd, args, { stdio: 'pipe' });
    return out.toString();
  }

  /** Runs SQL as the superuser over the Unix socket (trust). */
  sql(statement: string): string {
    return this.#run('psql', ['-h', this.dir, '-p', String(this.port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-Atc', statement]);
  }

  async stop(): Promise<void> {
    try {
      this.#run('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', 'stop']);
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A throwaway PostgreSQL cluster (initdb + pg_ctl) on a free port, for tests that
 * restart the server. Never the shared one on 5432. Runs as the `postgres` OS user
 * when the tests run as root (initdb refuses root). `pgBinDir()` is undefined when
 * the binaries are not installed: such tests skip, saying so.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';

/**
 * Runs a command to its exit. Output goes nowhere: `pg_ctl start` leaves the server
 * holding whatever it inherited, so waiting for pipes to close would wait forever.
 */
function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`))));
  });
}

/** Directory of initdb / pg_ctl, or undefined. */
export function pgBinDir(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const dir = join(base, v, 'bin');
    if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl'))) return dir;
  }
  return undefined;
}

export class PgCluster {
  private constructor(
    readonly port: number,
    readonly dir: string,
    readonly bin: string,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async start(): Promise<PgCluster> {
    const bin = pgBinDir();
    if (bin === undefined) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin');
    const dir = mkdtempSync(join(tmpdir(), 'lg-pg-'));
    const c = new PgCluster(await freePort(), dir, bin);
    if (process.getuid?.() === 0) chownSync(dir, uidOf('postgres'), gidOf('postgres'));
    await c.#as(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync', '-N']);
    await c.#ctl([
      'start',
      '-w',
      '-l',
      join(dir, 'log'),
      '-o',
      `-p ${c.port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`,
    ]);
    return c;
  }

  /** `pg_ctl restart -m <mode> -w`: resolves once the server accepts connections again. */
  restart(mode: 'fast' | 'immediate'): Promise<void> {
    return this.#ctl(['restart', '-m', mode, '-w']);
  }

  async stop(): Promise<void> {
    await this.#ctl(['stop', '-m', 'immediate']).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  async #ctl(args: string[]): Promise<void> {
    await this.#as(join(this.bin, 'pg_ctl'), ['-D', join(this.dir, 'data'), ...args]);
  }

  async #as(cmd: string, args: string[]): Promise<void> {
    if (process.getuid?.() === 0) await run('runuser', ['-u', 'postgres', '--', cmd, ...args]);
    else await run(cmd, args);
  }
}

function idOf(flag: '-u' | '-g', user: string): number {
  // synchronous on purpose: only at cluster start
  return Number(execFileSync('id', [flag, user]).toString().trim());
}
function uidOf(user: string): number {
  return idOf('-u', user);
}
function gidOf(user: string): number {
  return idOf('-g', user);
}

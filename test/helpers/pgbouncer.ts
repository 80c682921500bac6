/**
 * Issue 17: an ephemeral PgBouncer in transaction mode on a free loopback port, in
 * front of the local PostgreSQL (trust auth, user postgres, database test). Its
 * config, log and pid file live in a temp dir, removed by stop(). PgBouncer refuses
 * to run as root, so as root it runs with `-u postgres`. `available()` says why not
 * when the binary is missing (CI installs it: .ci/run).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PG } from './env.js';
import { answersTcp } from './tcp.js';
import { freePort } from './redis-server.js';

/** undefined when pgbouncer can run here, else the reason. */
export function pgbouncerMissing(): string | undefined {
  const r = spawnSync('pgbouncer', ['--version'], { encoding: 'utf8' });
  return r.error ? `pgbouncer is not installed (${r.error.message})` : undefined;
}

export class EphemeralPgBouncer {
  readonly port: number;
  readonly #dir: string;
  readonly #child: ChildProcess;

  private constructor(port: number, dir: string, child: ChildProcess) {
    this.port = port;
    this.#dir = dir;
    this.#child = child;
  }

  /** `postgres://postgres@127.0.0.1:<port>/test`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/test`;
  }

  static async start(opts: { poolSize?: number } = {}): Promise<EphemeralPgBouncer> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'lg-pgbouncer-'));
    writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `test = host=${PG.host} port=${PG.port} dbname=test user=postgres`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${join(dir, 'users.txt')}`,
        'pool_mode = transaction',
        `default_pool_size = ${opts.poolSize ?? 10}`,
        'max_client_conn = 200',
        'ignore_startup_parameters = extra_float_digits,options',
        `logfile = ${join(dir, 'pgbouncer.log')}`,
        `pidfile = ${join(dir, 'pgbouncer.pid')}`,
        '',
      ].join('\n'),
    );
    const root = process.getuid?.() === 0;
    if (root) {
      const pg = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
      const uid = Number(pg.stdout.trim());
      for (const f of ['', 'users.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, Number(gid.stdout.trim()));
    }
    const child = spawn('pgbouncer', [...(root ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.unref();
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    const b = new EphemeralPgBouncer(port, dir, child);
    process.once('exit', () => child.kill('SIGKILL'));
    const deadline = performance.now() + 10_000;
    while (!(await answersTcp(port))) {
      if (child.exitCode !== null || performance.now() > deadline) {
        await b.stop();
        throw new Error(`pgbouncer did not start on ${port}: ${out.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return b;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const exited = new Promise((r) => this.#child.once('exit', r));
      this.#child.kill('SIGTERM');
      const t = setTimeout(() => this.#child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/**
 * The built `lifeguard` command and fixture apps with pools in known states, as child
 * processes. Every app started is stopped by `stopApps()` (call it in afterEach), and
 * killed when the test process exits.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built executable (`npm test` builds first). */
export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const APP = fileURLToPath(new URL('../fixtures/cli-app/app.mjs', import.meta.url));

/** The environment of a child: this one's, without the URLs the CLI would default to. */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  return env;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `lifeguard …args`; resolves with its exit code and output. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = childEnv()): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `lifeguard …args --json` and parses the output. */
export async function runJson<T>(args: readonly string[]): Promise<{ code: number; json: T; stderr: string }> {
  const r = await runCli([...args, '--json']);
  let json: T;
  try {
    json = JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`lifeguard ${args.join(' ')} printed no JSON (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  return { code: r.code, json, stderr: r.stderr };
}

/** What the fixture app opens (see test/fixtures/cli-app/app.mjs). */
export interface AppConfig {
  app: string;
  redis?: { url: string; pool: string; max: number; idle?: number; blocked?: number; pubsub?: number; grow?: number };
  pg?: { url: string; pool: string; max: number; idle?: number; idleInTx?: number; longQuery?: number };
  http?: boolean;
  tag?: string;
}

export interface RunningApp {
  readonly pid: number;
  readonly port: number | null;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/** Starts a fixture app and resolves once its connections are in place. */
export function startApp(config: AppConfig): Promise<RunningApp> {
  const child = spawn(process.execPath, [APP, JSON.stringify(config)], { env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      child.once('exit', () => {
        clearTimeout(timer);
        running.delete(child);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error(`fixture app did not get ready in 15 s: ${out}${err}`)), 15_000);
    function fail(e: Error): void {
      clearTimeout(timer);
      void stop().then(() => reject(e));
    }
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY (\{.*\})\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        const info = JSON.parse(m[1]!) as { pid: number; port: number | null };
        resolve({ pid: info.pid, port: info.port, child, stop });
      }
    });
    child.once('exit', (code) => fail(new Error(`fixture app exited with ${code}: ${out}${err}`)));
  });
}

/** Polls `fn` until it returns something other than undefined (every 200 ms, up to `timeoutMs`). */
export async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

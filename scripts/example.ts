/**
 * `npm run example <name>`: runs one example against DATABASE_URL / REDIS_URL when
 * set, else against a throw-away PostgreSQL and redis-server started for it (stopped
 * when it exits). `npm run example` lists them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { EXAMPLES } from './examples.js';
import { ensureServers } from './servers.js';

const REPO = new URL('../', import.meta.url).pathname;
const name = process.argv[2];
const example = EXAMPLES.find((e) => e.name === name);
if (example === undefined) {
  if (name !== undefined) console.error(`no example named ${JSON.stringify(name)}`);
  console.log('npm run example <name>, one of:');
  for (const e of EXAMPLES) console.log(`  ${e.name.padEnd(18)} ${e.about}`);
  process.exit(name === undefined ? 0 : 2);
}

/** The examples import 'lifeguard', which is this package's dist/ (built by `npm ci`'s prepare step). */
export function ensureBuilt(say: (line: string) => void): void {
  if (existsSync(new URL('../dist/index.js', import.meta.url))) return;
  say('building dist/ (npm run build) …');
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

const say = (line: string): void => console.error(`[example] ${line}`);
ensureBuilt(say);
const servers = await ensureServers({ say });
if (servers.missing.length > 0) {
  for (const m of servers.missing) say(m);
  await servers.stop();
  process.exit(1);
}
const child = spawn(process.execPath, example.args, {
  cwd: REPO,
  stdio: 'inherit',
  env: { ...process.env, DATABASE_URL: servers.databaseUrl, REDIS_URL: servers.redisUrl },
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal));
const status = await new Promise<number>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
await servers.stop();
process.exit(status);

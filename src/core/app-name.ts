/**
 * The default `app` option: the name of the application, the prefix of every
 * server-side connection name. Two services run with plain `node` must not both be
 * called `app` on the server.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';

/** Where {@link defaultAppName} looks; the process's own by default. */
export interface AppNameSources {
  /** Environment; `npm_package_name` wins when set (`npm run`, `npm start`). */
  env?: NodeJS.ProcessEnv;
  /** The main module's path (`process.argv[1]`). */
  main?: string | undefined;
  /** The working directory (`process.cwd()`). */
  cwd?: string;
}

const cache = new Map<string, string | undefined>();

/** Characters a server-side name keeps; anything else becomes `_`. */
function clean(name: string): string {
  return name.replace(/[^\w.-]/g, '_').slice(0, 200);
}

/** `name` of the nearest package.json at or above `dir` (none inside node_modules: a tool's, not the app's). */
function nearestPackageName(dir: string): string | undefined {
  const key = dir;
  if (cache.has(key)) return cache.get(key);
  let found: string | undefined;
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (basename(d) === 'node_modules') break;
    try {
      const pkg = JSON.parse(readFileSync(join(d, 'package.json'), 'utf8')) as { name?: unknown };
      if (typeof pkg.name === 'string' && pkg.name !== '') {
        found = pkg.name;
        break;
      }
    } catch {
      // no package.json here (or an unreadable one): keep walking up
    }
    if (dirname(d) === d) break;
  }
  cache.set(key, found);
  return found;
}

/**
 * The default application name: `npm_package_name`, else the `name` of the nearest
 * package.json above the main module (unless it runs from node_modules, as test
 * runners and other tools do), else above the working directory, else the main
 * script's file name without its extension, else `'app'`. Characters other than
 * letters, digits, `_`, `.` and `-` become `_`.
 */
export function defaultAppName(sources: AppNameSources = {}): string {
  const env = sources.env ?? process.env;
  const main = 'main' in sources ? sources.main : process.argv[1];
  const cwd = sources.cwd ?? process.cwd();
  const fromNpm = env.npm_package_name;
  if (fromNpm) return clean(fromNpm);
  const inTool = main !== undefined && /[\\/]node_modules[\\/]/.test(main);
  const name = (main !== undefined && !inTool ? nearestPackageName(dirname(resolve(cwd, main))) : undefined) ?? nearestPackageName(cwd);
  if (name !== undefined) return clean(name);
  if (main !== undefined && !inTool) {
    const script = basename(main, extname(main));
    if (script !== '' && script !== '[eval]' && script !== '-') return clean(script);
  }
  return 'app';
}

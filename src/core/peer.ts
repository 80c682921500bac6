/**
 * The drivers are optional peer dependencies: each is loaded on first use, never at
 * import, so `import 'lifeguard'` works with only `pg` or only `ioredis` installed.
 * Loaded with the application's resolution, so `instanceof pg.Pool` holds for the
 * application's own `pg`.
 */
import { createRequire } from 'node:module';
import type * as IoredisModule from 'ioredis';
import type PgModule from 'pg';
import { ConfigError } from './errors.js';

const requireFromHere = createRequire(import.meta.url);
let pgModule: typeof PgModule | undefined;
let ioredisModule: typeof IoredisModule | undefined;

function load<T>(name: string, what: string): T {
  try {
    return requireFromHere(name) as T;
  } catch (err) {
    if ((err as { code?: unknown }).code === 'MODULE_NOT_FOUND') {
      throw new ConfigError(`lifeguard: ${what} pools need the "${name}" package: npm install ${name}`, { option: 'driver' });
    }
    throw err;
  }
}

/** The application's `pg`. */
export function loadPg(): typeof PgModule {
  if (pgModule === undefined) {
    const m = load<typeof PgModule & { default?: typeof PgModule }>('pg', 'PostgreSQL');
    pgModule = m.default ?? m;
  }
  return pgModule;
}

/** The application's `ioredis`. */
export function loadIoredis(): typeof IoredisModule {
  ioredisModule ??= load<typeof IoredisModule>('ioredis', 'Redis');
  return ioredisModule;
}

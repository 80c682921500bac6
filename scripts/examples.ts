/** The runnable examples: name, what it shows, and the command that runs it (from the repository root). */

/** One example. */
export interface Example {
  readonly name: string;
  readonly about: string;
  /** argv after `node`. */
  readonly args: readonly string[];
  /** Exit code when it works (the leak examples fail on purpose). */
  readonly expectedStatus: number;
  /** Runs until SIGINT / SIGTERM (a server). */
  readonly server?: boolean;
}

const ts = (file: string): string[] => ['--import', 'tsx', `examples/${file}`];

export const EXAMPLES: readonly Example[] = [
  { name: 'quick-start', about: "the README's quick start", args: ts('quick-start.ts'), expectedStatus: 0 },
  { name: 'express-app', about: 'Express handlers: withConnection, withTransaction, request tags, a Redis cache', args: ts('express-app.ts'), expectedStatus: 0, server: true },
  { name: 'kysely', about: 'Kysely on a lifeguard pool', args: ts('kysely.ts'), expectedStatus: 0 },
  { name: 'drizzle', about: 'Drizzle on a lifeguard pool', args: ts('drizzle.ts'), expectedStatus: 0 },
  { name: 'redis-worker', about: 'a BullMQ-style worker: BLPOP on pooled connections', args: ts('redis-worker.ts'), expectedStatus: 0 },
  { name: 'pubsub', about: 'Redis pub/sub with subscriber()', args: ts('pubsub.ts'), expectedStatus: 0 },
  { name: 'listen-notify', about: 'PostgreSQL LISTEN/NOTIFY with listener()', args: ts('listen-notify.ts'), expectedStatus: 0 },
  {
    name: 'leaks-node-test',
    about: 'a leak report in node:test (one test leaks on purpose: exits 1)',
    args: ['--import', 'tsx', '--test', 'examples/leaks-node-test/orders.test.ts'],
    expectedStatus: 1,
  },
  {
    name: 'leaks-vitest',
    about: 'a leak report in vitest (one test leaks on purpose: exits 1)',
    args: ['node_modules/vitest/vitest.mjs', 'run', '--config', 'examples/leaks-vitest/vitest.config.ts'],
    expectedStatus: 1,
  },
  { name: 'graceful-shutdown', about: 'SIGTERM: drain requests, then lg.close()', args: ts('graceful-shutdown.ts'), expectedStatus: 0, server: true },
];

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // PostgreSQL and Redis for the suite: the local ones, or throw-away ones it starts
    globalSetup: ['test/setup/servers.ts'],
    pool: 'forks',
    execArgv: ['--expose-gc'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'] } },
      { extends: true, test: { name: 'fault', include: ['test/fault/**/*.test.ts'] } },
      { extends: true, test: { name: 'examples', include: ['test/examples/**/*.test.ts'] } },
      { extends: true, test: { name: 'install', include: ['test/install/**/*.test.ts'] } },
    ],
  },
});

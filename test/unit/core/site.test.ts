import { describe, expect, it } from 'vitest';
import { parseSite, siteText, stackText, type SiteHolder } from '../../../src/core/site.js';

const cwd = process.cwd();
const parse = (frames: string[], ignore: (string | RegExp)[] = []) =>
  parseSite({ stack: ['Error', ...frames.map((f) => `    at ${f}`)].join('\n') } as SiteHolder, ignore);

describe('site: the first application frame', () => {
  it('keeps frames named <anonymous> that have a file (node:test, mocha, CommonJS top level)', () => {
    for (const fn of ['TestContext.<anonymous>', 'Context.<anonymous>', 'Object.<anonymous>']) {
      const p = parse([`${fn} (${cwd}/test/a.test.js:12:5)`, 'process.processTicksAndRejections (node:internal/process/task_queues:95:5)']);
      expect(siteText(p)).toBe('test/a.test.js:12:5');
      expect(p.frames).toHaveLength(1);
    }
  });

  it('passes over Node internals, native frames and locations without a line', () => {
    const p = parse([
      'Array.map (<anonymous>)',
      'new Promise (<anonymous>)',
      'async Promise.all (index 0)',
      'Module._compile (node:internal/modules/cjs/loader:1554:14)',
      `async handler (file://${cwd}/app/routes/users.mjs:41:7)`,
    ]);
    expect(siteText(p)).toBe('app/routes/users.mjs:41:7');
  });

  it('passes over node_modules for the site but keeps them in the stack as (via …) lines', () => {
    const p = parse([
      `PostgresDriver.acquireConnection (${cwd}/node_modules/kysely/dist/esm/dialect/postgres/postgres-driver.js:21:41)`,
      `async DefaultConnectionProvider.provideConnection (${cwd}/node_modules/kysely/dist/esm/driver/default-connection-provider.js:10:20)`,
      `async createUser (${cwd}/app/users.ts:7:3)`,
      `async main (${cwd}/app/main.ts:3:1)`,
    ]);
    expect(siteText(p)).toBe('app/users.ts:7:3');
    const stack = stackText(p)!.split('\n');
    expect(stack[0]).toContain('app/users.ts:7:3');
    expect(stack[1]).toContain('app/main.ts:3:1');
    expect(stack.slice(2).every((l) => l.startsWith('    (via ') && l.includes('node_modules/kysely'))).toBe(true);
  });

  it('passes over frames matching ignoreFrames (strings and RegExps, /g ones too)', () => {
    const frames = [`query (${cwd}/app/db/helpers.ts:5:10)`, `getUser (${cwd}/app/users.ts:9:3)`];
    expect(siteText(parse(frames))).toBe('app/db/helpers.ts:5:10');
    expect(siteText(parse(frames, ['app/db/helpers.ts']))).toBe('app/users.ts:9:3');
    const g = /db\/helpers/g;
    expect(siteText(parse(frames, [g]))).toBe('app/users.ts:9:3');
    expect(siteText(parse(frames, [g]))).toBe('app/users.ts:9:3');
  });

  it('has no site when every frame is a dependency, and says which frames it saw', () => {
    const p = parse([`x (${cwd}/node_modules/@prisma/client/runtime/client.js:1:2)`]);
    expect(siteText(p)).toBeUndefined();
    expect(p.app).toBe(-1);
    expect(stackText(p)).toContain('node_modules/@prisma/client');
  });

  it("treats a bundled app's dist/ as application code (lifeguard's own folder is found through its package.json)", () => {
    const p = parse([`handler (/srv/app/dist/server.js:1043:22)`, `lifeguard own (${cwd}/src/core/pool.ts:10:1)`]);
    expect(siteText(p)).toBe('/srv/app/dist/server.js:1043:22');
    expect(p.frames.some((f) => f.includes('src/core/pool.ts'))).toBe(false);
  });

  it('reads eval frames and frames without a function name', () => {
    const p = parse([`eval (eval at run (${cwd}/node_modules/x/y.js:1:1), <anonymous>:1:1)`, `${cwd}/scripts/job.js:4:9`]);
    expect(siteText(p)).toBe('scripts/job.js:4:9');
  });
});

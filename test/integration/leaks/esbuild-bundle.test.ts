import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO, markerLine, re, runFixture, singleLeak } from '../../fixtures/support/run-fixture.js';

// The app lives in test/fixtures/esbuild-app and runs from there, as an app runs from its
// root: src/app.ts is bundled with lifeguard (not external) into the app's own dist/.
const APP = 'test/fixtures/esbuild-app';
const SOURCE = 'src/app.ts';
const BUNDLE = 'dist/app.mjs';

let metafile: Metafile;

beforeAll(async () => {
  const result = await build({
    absWorkingDir: join(REPO, APP),
    entryPoints: [SOURCE],
    outfile: BUNDLE,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    external: ['pg', 'ioredis'],
    metafile: true,
    // generated code: `npm run lint` must not read it
    banner: { js: '/* eslint-disable */' },
    logLevel: 'silent',
  });
  metafile = result.metafile;
});

describe('an app bundled by esbuild together with lifeguard into its own dist/', () => {
  it('bundles lifeguard in: no import of lifeguard is left in the bundle', () => {
    const inputs = Object.keys(metafile.inputs);
    expect(inputs.some((i) => /(?:^|\/)dist\/index\.js$/.test(i) && !i.includes(APP))).toBe(true);
    expect(readFileSync(join(REPO, APP, BUNDLE), 'utf8')).not.toMatch(/from\s+["']lifeguard/);
  });

  it('with --enable-source-maps, a leaked lease is reported at the line of the original source', () => {
    const run = runFixture(['--enable-source-maps', BUNDLE], { cwd: APP });
    const line = markerLine(join(APP, SOURCE));
    const leak = singleLeak(run);
    expect(leak.site ?? '(no site)', run.output).toMatch(new RegExp(`^${re(SOURCE)}:${line}:\\d+$`));
    expect(leak.stack?.split('\n')[0] ?? '(no stack)', run.output).toMatch(new RegExp(`at runJob \\(.*${re(`${APP}/${SOURCE}`)}:${line}:\\d+\\)$`));
    expect(run.output).toContain(`acquired at ${SOURCE}:${line}:`);
    expect(run.status, run.output).toBe(1);
  });

  it("without source maps, it is reported at the bundle's own line of that acquire: an application frame, not missing", () => {
    const bundle = readFileSync(join(REPO, APP, BUNDLE), 'utf8').split('\n');
    const line = bundle.findIndex((l) => l.includes('pool.acquire({ tag: "bundled-job" })')) + 1;
    expect(line).toBeGreaterThan(0);
    const run = runFixture([BUNDLE], { cwd: APP });
    const leak = singleLeak(run);
    expect(leak.site ?? '(no site)', run.output).toMatch(new RegExp(`^${re(BUNDLE)}:${line}:\\d+$`));
    expect(leak.stack?.split('\n')[0] ?? '(no stack)', run.output).toMatch(new RegExp(`at runJob \\(file://.*${re(`${APP}/${BUNDLE}`)}:${line}:\\d+\\)$`));
    expect(run.output).toContain(`acquired at ${BUNDLE}:${line}:`);
    expect(run.status, run.output).toBe(1);
  });
});

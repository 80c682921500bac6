import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultAppName } from '../../../src/core/app-name.js';
import { resolveCommonOptions } from '../../../src/core/options.js';

const root = mkdtempSync(join(tmpdir(), 'lg-appname-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function dir(...parts: string[]): string {
  const d = join(root, ...parts);
  mkdirSync(d, { recursive: true });
  return d;
}

describe('the default app name', () => {
  const svc = dir('billing');
  writeFileSync(join(svc, 'package.json'), JSON.stringify({ name: '@acme/billing-api' }));
  const deep = dir('billing', 'src', 'jobs');
  const bare = dir('bare', 'scripts');
  const tool = dir('billing', 'node_modules', 'vitest');
  writeFileSync(join(tool, 'package.json'), JSON.stringify({ name: 'vitest' }));

  it('is npm_package_name when npm runs the script', () => {
    expect(defaultAppName({ env: { npm_package_name: 'from-npm' }, main: join(deep, 'x.js'), cwd: bare })).toBe('from-npm');
  });

  it('is the name of the nearest package.json above the main module, made safe for server-side names', () => {
    expect(defaultAppName({ env: {}, main: join(deep, 'worker.js'), cwd: bare })).toBe('_acme_billing-api');
  });

  it('walks up from the working directory when the main module runs from node_modules (a test runner)', () => {
    expect(defaultAppName({ env: {}, main: join(tool, 'vitest.mjs'), cwd: deep })).toBe('_acme_billing-api');
  });

  it('is the script name where no package.json is found, else app', () => {
    expect(defaultAppName({ env: {}, main: join(bare, 'sync-users.mjs'), cwd: bare })).toBe('sync-users');
    expect(defaultAppName({ env: {}, main: undefined, cwd: bare })).toBe('app');
  });

  it('is what a pool uses when app is not given', () => {
    expect(resolveCommonOptions({}, { npm_package_name: 'svc' }).app).toBe('svc');
    expect(resolveCommonOptions({ app: 'mine' }, { npm_package_name: 'svc' }).app).toBe('mine');
  });
});

// `npx lifeguard` from a project that installed the packed package (the issue: "could not determine executable").
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'lifeguard-npx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the lifeguard executable', () => {
  it('keeps its shebang through the build', () => {
    expect(readFileSync(join(ROOT, 'dist/cli.js'), 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('runs with npx from a project that installed the package', () => {
    const npm = (args: string[]): string => execFileSync('npm', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'npx-check', version: '1.0.0', private: true }));
    const tgz = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n').pop()!;
    npm(['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(dir, tgz)]);
    const help = execFileSync('npx', ['--no-install', 'lifeguard', '--help'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    expect(help).toMatch(/^Usage: lifeguard/);
    expect(help).toMatch(/doctor[\s\S]*monitor[\s\S]*cleanup/);
  }, 90_000);
});

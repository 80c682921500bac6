import { describe, expect, it } from 'vitest';
import { DATABASE_URL, PG, REDIS, REDIS_URL, hostPort, withHostPort } from '../../helpers/env.js';
import { unique } from '../../helpers/unique.js';

describe('env', () => {
  it('has URLs and their hosts and ports', () => {
    expect(REDIS_URL).toMatch(/^rediss?:\/\//);
    expect(DATABASE_URL).toMatch(/^postgres(ql)?:\/\//);
    expect(REDIS).toEqual(hostPort(REDIS_URL));
    expect(PG).toEqual(hostPort(DATABASE_URL));
  });

  it('parses host and port, with protocol defaults', () => {
    expect(hostPort('redis://127.0.0.1:6390')).toEqual({ host: '127.0.0.1', port: 6390 });
    expect(hostPort('redis://localhost')).toEqual({ host: 'localhost', port: 6379 });
    expect(hostPort('postgres://u:p@db.local/x')).toEqual({ host: 'db.local', port: 5432 });
    expect(hostPort('postgresql://[::1]:5433/x')).toEqual({ host: '::1', port: 5433 });
  });

  it('points a URL elsewhere, keeping user, path and query', () => {
    expect(withHostPort('postgres://postgres@127.0.0.1:5432/test?sslmode=disable', { host: '127.0.0.1', port: 40000 })).toBe(
      'postgres://postgres@127.0.0.1:40000/test?sslmode=disable',
    );
  });
});

describe('unique', () => {
  const safe = /^[a-z][a-z0-9_]{0,39}$/;

  it('gives distinct safe names', () => {
    const names = Array.from({ length: 2000 }, () => unique());
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(safe);
    expect(unique('pool')).toMatch(/^pool_/);
  });

  it('cleans and shortens the prefix, never the unique part', () => {
    for (const prefix of ['', '9lives', '_x', 'Hello-World!', 'x'.repeat(100)]) {
      const a = unique(prefix);
      const b = unique(prefix);
      expect(a).toMatch(safe);
      expect(a).not.toBe(b);
    }
    expect(unique('Hello-World!')).toMatch(/^helloworld_/);
  });
});

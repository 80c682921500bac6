/** Where the test servers are: `REDIS_URL` / `DATABASE_URL`, with local defaults. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Host and port of a URL. */
export function hostPort(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || (u.protocol.startsWith('redis') ? 6379 : 5432)) };
}

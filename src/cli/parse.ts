/** Parsing what Redis answers (`CLIENT LIST`, `INFO`) into rows and fields. */
import type { RedisClientRow } from './rows.js';

/** Parses the text of `CLIENT LIST` into rows. */
export function parseClientList(text: string): RedisClientRow[] {
  const rows: RedisClientRow[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const f = new Map<string, string>();
    // name= may be empty; values never contain spaces (SETNAME refuses them)
    for (const part of trimmed.split(' ')) {
      const eq = part.indexOf('=');
      if (eq > 0) f.set(part.slice(0, eq), part.slice(eq + 1));
    }
    const num = (k: string): number => Number(f.get(k) ?? 0) || 0;
    rows.push({
      id: f.get('id') ?? '',
      addr: f.get('addr') ?? '',
      name: f.get('name') ?? '',
      ageS: num('age'),
      idleS: num('idle'),
      flags: f.get('flags') ?? 'N',
      db: num('db'),
      subscriptions: num('sub') + num('psub') + num('ssub'),
      cmd: f.get('cmd') ?? '',
      user: f.get('user') ?? '',
    });
  }
  return rows;
}

/** Parses `INFO` text into `field → value`. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

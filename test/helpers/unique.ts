/** Names unique per process and call: pool names, key prefixes, table and channel names. */
let counter = 0;
const pid = process.pid.toString(36);

/** Lowercase letters, digits and `_`, starting with a letter, at most 40 characters. */
export function unique(prefix = 't'): string {
  counter++;
  const rand = Math.floor(Math.random() * 36 ** 4).toString(36);
  return `${prefix.replace(/[^a-z0-9_]/gi, '').toLowerCase() || 't'}_${pid}_${counter.toString(36)}_${rand}`.slice(0, 40);
}

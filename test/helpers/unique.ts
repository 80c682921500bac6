/**
 * Names unique per process and call, safe as pool names, Redis key prefixes, PG table
 * and channel names: lowercase letters, digits and `_`, starting with a letter, at most
 * 40 characters.
 */
const MAX = 40;
const pid = process.pid.toString(36);
let counter = 0;

/** `${prefix}_${pid}_${counter}_${random}`, base 36; a long prefix is shortened, never the unique tail. */
export function unique(prefix = 't'): string {
  counter++;
  const rand = Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0');
  const tail = `_${pid}_${counter.toString(36)}_${rand}`;
  let head = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '');
  if (!/^[a-z]/.test(head)) head = `t${head}`;
  return head.slice(0, MAX - tail.length) + tail;
}

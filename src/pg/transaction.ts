/** `BEGIN` statements for `withTransaction`, built from checked options only. */
import { ConfigError } from '../core/errors.js';
import { show } from '../core/options.js';

/** Isolation levels PostgreSQL accepts. */
export type IsolationLevel = 'read uncommitted' | 'read committed' | 'repeatable read' | 'serializable';

/** Options of `withTransaction`. */
export interface TransactionOptions {
  /**
   * Transaction isolation level.
   * @default the server's default (usually 'read committed')
   */
  isolationLevel?: IsolationLevel;
  /**
   * Start a `READ ONLY` transaction.
   * @default false
   */
  readOnly?: boolean;
  /**
   * `DEFERRABLE` (only meaningful with serializable + readOnly).
   * @default false
   */
  deferrable?: boolean;
}

const LEVELS: readonly IsolationLevel[] = ['read uncommitted', 'read committed', 'repeatable read', 'serializable'];
const cache = new Map<string, string>();

/** The `BEGIN …` statement for these options; throws `ConfigError` naming a bad one. */
export function beginStatement(pool: string, opts?: TransactionOptions): string {
  const level = opts?.isolationLevel;
  const readOnly = opts?.readOnly ?? false;
  const deferrable = opts?.deferrable ?? false;
  const key = `${level}|${readOnly}|${deferrable}`;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const bad = (option: string, expected: string, value: unknown): never => {
    throw new ConfigError(`lifeguard: pool "${pool}": withTransaction option ${option} must be ${expected}, got ${show(value)}`, {
      pool,
      option,
    });
  };
  if (level !== undefined && !LEVELS.includes(level)) bad('isolationLevel', `one of ${LEVELS.map((l) => `'${l}'`).join(', ')}`, level);
  if (typeof readOnly !== 'boolean') bad('readOnly', 'a boolean', readOnly);
  if (typeof deferrable !== 'boolean') bad('deferrable', 'a boolean', deferrable);
  let sql = 'BEGIN';
  if (level !== undefined) sql += ` ISOLATION LEVEL ${level.toUpperCase()}`;
  if (readOnly) sql += ' READ ONLY';
  if (deferrable) sql += ' DEFERRABLE';
  cache.set(key, sql);
  return sql;
}

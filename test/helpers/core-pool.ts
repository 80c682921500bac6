/**
 * A CorePool on the fake driver, with its events recorded: for unit tests of the
 * engine's units, where a server adds nothing.
 */
import { EventHub, type LifeguardEvent } from '../../src/core/events.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { resolveCommonOptions, type CommonPoolOptions } from '../../src/core/options.js';
import { CorePool, type CoreBehaviour, type PoolHooks } from '../../src/core/pool.js';
import { FakeDriver, type FakeConn } from './fake-driver.js';

export interface TestPool {
  readonly pool: CorePool<FakeConn, FakeConn>;
  readonly driver: FakeDriver;
  readonly events: LifeguardEvent[];
  /** Log lines, as `level: text`. */
  readonly logs: string[];
}

export function makePool(
  opts: CommonPoolOptions = {},
  driver = new FakeDriver(),
  hooks: PoolHooks<FakeConn, FakeConn> = {},
  behaviour?: CoreBehaviour,
): TestPool {
  const logs: string[] = [];
  const logger: Logger = {
    debug: (m: string) => logs.push(`debug: ${m}`),
    info: (m: string) => logs.push(`info: ${m}`),
    warn: (m: string) => logs.push(`warn: ${m}`),
    error: (m: string) => logs.push(`error: ${m}`),
  };
  const hub = new EventHub(undefined, silentLogger);
  const events: LifeguardEvent[] = [];
  hub.add((e) => events.push(e));
  const pool = new CorePool(driver, resolveCommonOptions({ logger, name: 'core', ...opts }), hub, hooks, behaviour);
  return { pool, driver, events, logs };
}

/** Events of one type. */
export function ofType<T extends LifeguardEvent['type']>(events: readonly LifeguardEvent[], type: T): Extract<LifeguardEvent, { type: T }>[] {
  return events.filter((e): e is Extract<LifeguardEvent, { type: T }> => e.type === type);
}

/** Resolves once `cond()` holds (checked after each turn of the event loop), failing after `ms`. */
export async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms: ${cond.toString()}`);
    await new Promise((r) => setImmediate(r));
  }
}

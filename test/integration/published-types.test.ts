// The published type declarations (`npm test` builds first): only the documented API,
// none of the engine's internals (marked `@internal`, dropped by `stripInternal`).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dist = fileURLToPath(new URL('../../dist/', import.meta.url));

/** Names of the engine and adapter internals that must never appear in dist/*.d.ts. */
const INTERNAL = [
  'CorePool',
  'LeaseRecord',
  'Conn',
  'LeaseOwner',
  'DedicatedTracker',
  'DedicatedState',
  'TrackerHost',
  'ListenerState',
  'SubscriberState',
  'PoolShell',
  'OpenSpec',
  'openConnection',
  'ShellOptions',
  'defineIdentity',
  'installQuery',
  'RollbackFailed',
  'FailFast',
  'BudgetPublisher',
  'OpenContext',
  'ListenerContext',
  '_core',
  'kRecord',
  'kDetach',
  'recordOf',
  'LeaseRef',
  'leaseRef',
  'refuseUse',
  'releaseRef',
  'PoolHooks',
  'CoreBehaviour',
  'CloseOptions',
  'Driver',
  'PgDriver',
  'RedisDriver',
  'EventHub',
  'Budget',
  'WaiterQueue',
  'ScopedCall',
  'SiteHolder',
  'SiteContext',
  'PoolMeter',
  'assertUsable',
  // the engine's units
  'Engine',
  'IdleSet',
  'AcquireQueue',
  'LeaseTable',
  'Handout',
  'Connections',
  'Supply',
  'Ceiling',
  'Resilience',
  'LeakTracker',
  'NestedScope',
  'PoolCounters',
  'Shutdown',
  'EVENT_BIT',
  // the pools' reclaim(note) (lifeguard/testing calls it; assertNoLeaks's `reclaim` option is documented)
  'reclaim(',
];

function declarationFiles(): string[] {
  return readdirSync(dist).filter((f) => f.endsWith('.d.ts') || f.endsWith('.d.cts'));
}

/** `name` as a whole identifier, outside comments. */
function uses(text: string, name: string): boolean {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const end = /[\w$]$/.test(name) ? '(?![\\w$])' : '';
  return new RegExp(`(?<![\\w$])${name.replace(/[$()]/g, '\\$&')}${end}`).test(code);
}

describe('the published types', () => {
  it('are built for every entry point, ESM and CommonJS', () => {
    const files = declarationFiles();
    for (const entry of ['index', 'testing', 'vitest', 'http', 'prometheus', 'otel']) {
      expect(files).toContain(`${entry}.d.ts`);
      expect(files).toContain(`${entry}.d.cts`);
    }
  });

  it('name none of the internals', () => {
    const found: string[] = [];
    for (const file of declarationFiles()) {
      const text = readFileSync(dist + file, 'utf8');
      for (const name of INTERNAL) if (uses(text, name)) found.push(`${file}: ${name}`);
    }
    expect(found).toEqual([]);
  });

  it('still name the documented API', () => {
    const text = readFileSync(dist + 'index.d.ts', 'utf8');
    for (const name of ['LifeguardPgPool', 'LifeguardRedisPool', 'Lease', 'PgListener', 'Subscriber', 'DedicatedConnection', 'LeaseReleasedError', 'PoolStats', 'createPgPool', 'createRedisPool', 'getPoolManager']) {
      expect(uses(text, name), name).toBe(true);
    }
  });
});

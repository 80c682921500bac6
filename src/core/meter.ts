/**
 * Per-pool counting for exporters: wait, use and create time histograms and the
 * counters the pool does not keep for `stats()` (leaks by kind, nested acquires).
 * Updated on the hot path without allocation; read by `lifeguard/prometheus` and
 * `lifeguard/otel` when they are collected. The set of live meters is process-wide
 * (`globalThis`, `Symbol.for`), so an exporter sees every pool, present and future.
 */
import type { DriverKind } from './events.js';
import { Histogram } from './histogram.js';
import type { PoolStats } from './pool.js';

/** The kinds of the `leak` event. */
export type LeakKind = 'held-too-long' | 'lost' | 'unreleased-at-close' | 'subscriber-lost';

/** Where a pool connects, for the `server.address` / `server.port` attributes. */
export interface ServerAddress {
  /** Host name, IP address or Unix socket path. */
  readonly address: string;
  /** TCP port; undefined for a Unix socket. */
  readonly port: number | undefined;
}

/** What a meter reads from its pool at collect time. */
export interface MeteredPool {
  readonly name: string;
  readonly kind: DriverKind;
  stats(): PoolStats;
}

/** The counters and histograms of one pool. */
export class PoolMeter {
  /** Time from acquire to lease, ms (0 when a connection was free). */
  readonly wait = new Histogram();
  /** Time a lease was held, ms. */
  readonly use = new Histogram();
  /** Time to open a connection, ms (successful opens). */
  readonly create = new Histogram();
  /** Leaks reported, by kind. */
  readonly leaks: Record<LeakKind, number> = { 'held-too-long': 0, lost: 0, 'unreleased-at-close': 0, 'subscriber-lost': 0 };
  /** Acquires made while the same async context already held a lease of the pool. */
  nestedAcquires = 0;

  constructor(
    readonly pool: MeteredPool,
    readonly server: ServerAddress | undefined,
  ) {}
}

interface Meters {
  /** The meters of every open pool. */
  readonly live: Set<PoolMeter>;
  /** Called with each meter opened from now on (exporters that install record sinks). */
  readonly onOpen: Set<(meter: PoolMeter) => void>;
}

const KEY = Symbol.for('lifeguard.meters');
const g = globalThis as { [KEY]?: Meters };
const meters: Meters = (g[KEY] ??= { live: new Set(), onOpen: new Set() });

/** The meters of every open pool in the process (every copy of lifeguard loaded). */
export const liveMeters: ReadonlySet<PoolMeter> = meters.live;
/** Hooks called with every meter opened from now on. */
export const onMeterOpen: Set<(meter: PoolMeter) => void> = meters.onOpen;

/** A pool opened: its meter becomes visible to exporters. */
export function openMeter(meter: PoolMeter): void {
  meters.live.add(meter);
  for (const hook of meters.onOpen) hook(meter);
}

/** A pool is closing: its series disappear. */
export function closeMeter(meter: PoolMeter): void {
  meters.live.delete(meter);
}

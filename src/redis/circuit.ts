/**
 * The Redis pool's shared client while the circuit is open: commands that would wait
 * in ioredis's offline queue fail at once with `CIRCUIT_OPEN`.
 */
import type { Command, Redis } from 'ioredis';
import type { CorePool } from '../core/pool.js';
import type { RedisClient } from './topology.js';

/**
 * While the circuit is open, commands on the shared client that would wait in
 * ioredis's offline queue (the client is not connected) fail at once with
 * `CIRCUIT_OPEN`, and those already queued are failed with it: the offline queue is
 * bounded by the breaker, not by `maxRetriesPerRequest`. Installed only while open,
 * so the shared client's commands pay nothing otherwise.
 */
export class FailFast<C extends RedisClient> {
  readonly #client: C;
  readonly #core: CorePool<C, C>;
  #failFast: Redis['sendCommand'] | undefined;
  /** The client's own sendCommand before fail-fast was installed (the command-timeout wrapper), if any. */
  #beforeFailFast: Redis['sendCommand'] | undefined;

  constructor(client: C, core: CorePool<C, C>) {
    this.#client = client;
    this.#core = core;
  }

  /** The breaker changed state. */
  onCircuit(to: 'closed' | 'open' | 'half-open'): void {
    const client = this.#client;
    if (to === 'closed') {
      if (this.#failFast !== undefined && client.sendCommand === this.#failFast) {
        if (this.#beforeFailFast !== undefined) client.sendCommand = this.#beforeFailFast;
        else delete (client as { sendCommand?: unknown }).sendCommand;
      }
      this.#failFast = undefined;
      return;
    }
    if (to !== 'open') return;
    const core = this.#core;
    if (this.#failFast === undefined) {
      const own = Object.prototype.hasOwnProperty.call(client, 'sendCommand');
      const send = client.sendCommand;
      this.#beforeFailFast = own ? send : undefined;
      // every argument passed on: a cluster client's sendCommand takes a node as well
      this.#failFast = client.sendCommand = function (this: Redis, command: Command, ...rest: unknown[]): unknown {
        // 'connect': the handshake of a reconnection (AUTH, SELECT, CLIENT SETNAME, the ready check) goes through
        if (this.status !== 'ready' && this.status !== 'connect' && core.circuitTripped) {
          const err = core.circuitOpenError();
          if (err !== undefined) {
            command.reject(err);
            return command.promise;
          }
        }
        return (send as (this: Redis, c: Command, ...r: unknown[]) => unknown).call(this, command, ...rest);
      } as Redis['sendCommand'];
    }
    if (client.status !== 'ready') {
      const err = core.circuitOpenError();
      const flush = (client as unknown as { flushQueue?(e: Error, o: { offlineQueue: boolean; commandQueue: boolean }): void }).flushQueue;
      if (err !== undefined) flush?.call(client, err, { offlineQueue: true, commandQueue: false });
    }
  }
}

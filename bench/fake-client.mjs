// A pg client that does no I/O, for measuring pool overhead alone (same class for
// pg-pool and lifeguard).
import { EventEmitter } from 'node:events';

const result = { rows: [], rowCount: 0, command: 'SELECT' };
export class FakeClient extends EventEmitter {
  constructor() {
    super();
    this._queryable = true;
  }
  connect(cb) {
    if (cb) return void setImmediate(cb);
    return Promise.resolve();
  }
  query(_text, _values, cb) {
    if (typeof _values === 'function') cb = _values;
    if (cb) return void setImmediate(() => cb(null, result));
    return Promise.resolve(result);
  }
  end(cb) {
    if (cb) return void setImmediate(cb);
    return Promise.resolve();
  }
  getTransactionStatus() {
    return 'I';
  }
}

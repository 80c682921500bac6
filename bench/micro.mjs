// Micro-costs in ns/op: batches of 20,000, median of 15 batches, one process per round.
import { AsyncLocalStorage } from 'node:async_hooks';
import { report } from './common.mjs';

const BATCH = 20_000;
const BATCHES = 15;
let sink;

function measure(fn) {
  for (let i = 0; i < BATCH; i++) fn(i);
  const times = [];
  for (let b = 0; b < BATCHES; b++) {
    const t = performance.now();
    for (let i = 0; i < BATCH; i++) fn(i);
    times.push(((performance.now() - t) * 1e6) / BATCH);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[BATCHES >> 1]);
}

function capture(limit) {
  return function entry() {
    const h = {};
    const prev = Error.stackTraceLimit;
    Error.stackTraceLimit = limit;
    Error.captureStackTrace(h, entry);
    Error.stackTraceLimit = prev;
    return h;
  };
}
const cap1 = capture(1);
const cap10 = capture(10);
const fr = new FinalizationRegistry(() => {});
const als = new AsyncLocalStorage();

const result = {
  'captureStackTrace, limit 1': measure(() => (sink = cap1())),
  'captureStackTrace, limit 10': measure(() => (sink = cap10())),
  'captureStackTrace, limit 10, then read .stack': measure(() => (sink = cap10().stack)),
  'setTimeout + clearTimeout': measure(() => clearTimeout(setTimeout(() => {}, 1000))),
  'new WeakRef': measure(() => (sink = new WeakRef({}))),
  'FinalizationRegistry.register': measure(() => {
    const o = {};
    fr.register(o, 1);
    sink = o;
  }),
  'performance.now()': measure(() => (sink = performance.now())),
  'AsyncLocalStorage.getStore()': measure(() => (sink = als.getStore())),
};
void sink;
report({ impl: 'node', ...result });

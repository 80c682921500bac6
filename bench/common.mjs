// Shared by every benchmark process: closed loops, a warm-up, a fixed window, CPU.
export const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 1000);
export const WINDOW_MS = Number(process.env.BENCH_WINDOW_MS ?? 2000);

/**
 * Runs `workers` closed loops of `op` for WARMUP_MS, then counts completed ops over
 * WINDOW_MS. The clock is read every 256 ops (already-resolved promises never yield to
 * timers), so the window ends on the op count, not on a timer.
 */
export async function closedLoop(op, workers) {
  let ops = 0;
  let phase = 'warm';
  let start = 0;
  let cpu0;
  let end = 0;
  let endCpu;
  let endOps = 0;
  const t0 = performance.now();
  const worker = async () => {
    for (;;) {
      await op();
      ops++;
      if ((ops & 255) === 0) {
        const now = performance.now();
        if (phase === 'warm' && now - t0 >= WARMUP_MS) {
          phase = 'measure';
          start = now;
          cpu0 = process.cpuUsage();
          ops = 0;
        } else if (phase === 'measure' && now - start >= WINDOW_MS) {
          phase = 'done';
          end = now;
          endOps = ops;
          endCpu = process.cpuUsage(cpu0);
        }
      }
      if (phase === 'done') return;
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  const ms = end - start;
  return {
    ops: endOps,
    ms,
    opsPerSec: (endOps / ms) * 1000,
    nsPerOp: (ms * 1e6) / endOps,
    cpuPct: ((endCpu.user + endCpu.system) / 1000 / ms) * 100,
  };
}

export function report(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

export function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}

export const silent = { error() {}, warn() {}, info() {}, debug() {} };

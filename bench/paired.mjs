// Paired comparison of two builds of lifeguard (e.g. a branch against its base) on one
// benchmark: rounds of A B B A in fresh processes, the ratio taken per round, so the
// machine's drift between rounds cancels out. Each directory needs its own built dist/
// and bench/ (a checkout or `git archive` of the base, with node_modules linked).
//   node bench/paired.mjs --a /path/to/base --b . [--suite cycle|pg-select] [--rounds 8] [-- extra args]
// Prints per-round figures and the median B/A ratio of the metric (ns/cycle or ops/s).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const argv = process.argv.slice(2);
const dd = argv.indexOf('--');
const extra = dd === -1 ? [] : argv.slice(dd + 1);
const opt = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 || (dd !== -1 && i > dd) ? fallback : argv[i + 1];
};
const a = resolve(opt('a', '.'));
const b = resolve(opt('b', '.'));
const suite = opt('suite', 'cycle');
const rounds = Number(opt('rounds', '8'));
const metric = suite === 'cycle' ? 'nsPerOp' : 'opsPerSec';
const env = { ...process.env, NODE_ENV: 'production' };

function once(dir) {
  const r = spawnSync(process.execPath, [`${dir}/bench/${suite}.mjs`, '--impl', 'lifeguard', ...extra], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${dir}: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').pop();
  const res = JSON.parse(line);
  // CPU time per operation: what a shared, busy machine disturbs least
  return { value: res[metric], cpuNs: (res.nsPerOp ?? 1e9 / res.opsPerSec) * (res.cpuPct / 100) };
}

const ratios = [];
const cpuRatios = [];
for (let i = 0; i < rounds; i++) {
  // A B B A: a linear drift inside the round cancels too
  const a1 = once(a);
  const b1 = once(b);
  const b2 = once(b);
  const a2 = once(a);
  const ratio = (b1.value + b2.value) / (a1.value + a2.value);
  const cpu = (b1.cpuNs + b2.cpuNs) / (a1.cpuNs + a2.cpuNs);
  ratios.push(ratio);
  cpuRatios.push(cpu);
  console.log(
    JSON.stringify({ round: i + 1, a: [Math.round(a1.value), Math.round(a2.value)], b: [Math.round(b1.value), Math.round(b2.value)], ratio: Number(ratio.toFixed(3)), cpuRatio: Number(cpu.toFixed(3)) }),
  );
}
const stats = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return { median: Number(median.toFixed(3)), min: Number(s[0].toFixed(3)), max: Number(s[s.length - 1].toFixed(3)) };
};
console.log(
  JSON.stringify({
    suite,
    extra,
    metric,
    meaning: metric === 'nsPerOp' ? 'B/A time per cycle: below 1 means B is faster' : 'B/A ops per second: above 1 means B is faster',
    rounds,
    ratio: stats(ratios),
    cpuPerOpRatio: { ...stats(cpuRatios), meaning: 'B/A CPU time per operation: below 1 means B uses less' },
  }),
);

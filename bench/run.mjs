#!/usr/bin/env node
// Runs benchmark suites: a fresh process per measurement, implementations alternating
// A B C A B C …, medians with min–max, ratios against lifeguard from the same run.
//   node bench/run.mjs [cycle] [pg-select] [pg-connect] [redis] [micro] [metrics-cycle] [metrics-pg] [scrape] [--quick]
//   (metrics-cycle compares with a build of an earlier commit when BENCH_BASE_DIST names its dist/;
//    engine and engine-pg need it: they measure a change against that build)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';

const quick = process.argv.includes('--quick');
const asked = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const suites = asked.length > 0 ? asked : ['cycle', 'pg-select', 'pg-connect', 'redis', 'micro'];
const env = { ...process.env, NODE_ENV: 'production' };
if (quick) Object.assign(env, { BENCH_WARMUP_MS: '200', BENCH_WINDOW_MS: '400' });

const plans = {
  cycle: {
    rounds: Number(process.env.BENCH_ROUNDS ?? 5),
    cases: [1, 64].flatMap((c) =>
      ['lifeguard', 'lifeguard-nostack', 'lifeguard-off', 'lifeguard-always', 'generic-pool', 'tarn', 'pg-pool'].map((impl) => ({
        impl,
        args: ['--concurrency', String(c)],
        group: `concurrency ${c}`,
      })),
    ),
    metric: 'nsPerOp',
    unit: 'ns/cycle',
    lowerIsBetter: true,
  },
  'pg-select': {
    rounds: Number(process.env.BENCH_ROUNDS ?? 5),
    cases: [
      ...['lifeguard', 'lifeguard-nostack', 'lifeguard-always', 'pg.Pool'].map((impl) => ({ impl, args: [], group: 'pool.query SELECT 1, 64 callers, max 10' })),
      ...['lifeguard', 'lifeguard-always', 'pg.Pool'].map((impl) => ({
        impl,
        args: ['--op', 'with-connection'],
        group: 'withConnection + SELECT 1 (pg.Pool: connect, query, release), 64 callers, max 10',
      })),
    ],
    metric: 'opsPerSec',
    unit: 'ops/s',
    lowerIsBetter: false,
    // each capture mode against pg.Pool, the targets of the leak-detection issue
    baseline: 'pg.Pool',
  },
  'pg-connect': {
    rounds: Number(process.env.BENCH_ROUNDS ?? 5),
    cases: [1, 64].flatMap((c) =>
      ['lifeguard', 'pg.Pool'].map((impl) => ({ impl, args: ['--concurrency', String(c)], group: `connect() + release(), ${c} caller${c > 1 ? 's' : ''}, max 10` })),
    ),
    metric: 'opsPerSec',
    unit: 'ops/s',
    lowerIsBetter: false,
    baseline: 'pg.Pool',
  },
  redis: {
    rounds: Number(process.env.BENCH_ROUNDS ?? 5),
    cases: [
      ...['lifeguard', 'ioredis'].map((impl) => ({ impl, args: ['--test', 'get'], group: 'GET on the shared client, 64 callers' })),
      ...['lifeguard', 'generic-pool', 'node-redis'].map((impl) => ({ impl, args: ['--test', 'blpop'], group: 'pooled BLPOP, 16 callers, 10 connections' })),
    ],
    metric: 'opsPerSec',
    unit: 'ops/s',
    lowerIsBetter: false,
  },
  micro: { rounds: 5, cases: [{ impl: 'node', args: [], group: 'micro' }], micro: true },
  // the metrics issue: acquire+release before it (BENCH_BASE_DIST: a build of the earlier
  // commit), with its counting, and with the Prometheus exporter registered
  'metrics-cycle': {
    rounds: Number(process.env.BENCH_ROUNDS ?? 7),
    script: 'cycle',
    cases: [1, 64].flatMap((c) =>
      [...(process.env.BENCH_BASE_DIST ? ['lifeguard-before'] : []), 'lifeguard', 'lifeguard-prom'].map((impl) => ({
        impl,
        args: ['--concurrency', String(c)],
        group: `concurrency ${c}`,
      })),
    ),
    metric: 'nsPerOp',
    unit: 'ns/cycle',
    lowerIsBetter: true,
    diffBase: process.env.BENCH_BASE_DIST ? 'lifeguard-before' : 'lifeguard',
  },
  'metrics-pg': {
    rounds: Number(process.env.BENCH_ROUNDS ?? 9),
    script: 'pg-select',
    cases: ['lifeguard', 'lifeguard-prom', 'pg.Pool'].map((impl) => ({ impl, args: [], group: 'pool.query SELECT 1, 64 callers, max 10' })),
    metric: 'opsPerSec',
    unit: 'ops/s',
    lowerIsBetter: false,
    baseline: 'pg.Pool',
  },
  // a change against the build of an earlier commit (BENCH_BASE_DIST names its dist/):
  // acquire+release with no I/O, and SELECT 1 through pool.query and withConnection
  engine: {
    needsBase: true,
    rounds: Number(process.env.BENCH_ROUNDS ?? 7),
    script: 'cycle',
    cases: [1, 64].flatMap((c) =>
      ['lifeguard-before', 'lifeguard'].map((impl) => ({ impl, args: ['--concurrency', String(c)], group: `concurrency ${c}` })),
    ),
    metric: 'nsPerOp',
    unit: 'ns/cycle',
    lowerIsBetter: true,
  },
  'engine-pg': {
    needsBase: true,
    rounds: Number(process.env.BENCH_ROUNDS ?? 7),
    script: 'pg-select',
    cases: [
      ...['lifeguard-before', 'lifeguard'].map((impl) => ({ impl, args: [], group: 'pool.query SELECT 1, 64 callers, max 10' })),
      ...['lifeguard-before', 'lifeguard'].map((impl) => ({ impl, args: ['--op', 'with-connection'], group: 'withConnection + SELECT 1, 64 callers, max 10' })),
    ],
    metric: 'opsPerSec',
    unit: 'ops/s',
    lowerIsBetter: false,
  },
  scrape: {
    rounds: Number(process.env.BENCH_ROUNDS ?? 5),
    cases: [20, 100].map((n) => ({ impl: 'lifeguard', args: ['--pools', String(n)], group: `registry.metrics(), ${n} pools` })),
    metric: 'usPerScrape',
    unit: 'µs/scrape',
    lowerIsBetter: true,
  },
};

const version = (p) => {
  try {
    return JSON.parse(readFileSync(new URL(`../node_modules/${p}/package.json`, import.meta.url))).version;
  } catch {
    return '?';
  }
};
const cpu = os.cpus()[0]?.model ?? '?';
const machine = `${os.cpus().length} cores (${cpu}), Node ${process.version}; pg ${version('pg')}, pg-pool ${version('pg-pool')}, generic-pool ${version('generic-pool')}, tarn ${version('tarn')}, ioredis ${version('ioredis')}, redis ${version('redis')}`;

execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
console.log(`\nmachine: ${machine}\ncommand: node bench/run.mjs ${process.argv.slice(2).join(' ')}\n`);

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

for (const suite of suites) {
  const plan = plans[suite];
  if (!plan) throw new Error(`unknown suite ${suite}; known: ${Object.keys(plans).join(', ')}`);
  if (plan.needsBase && !process.env.BENCH_BASE_DIST) throw new Error(`suite ${suite} compares with an earlier build: set BENCH_BASE_DIST to its dist/ (with node_modules beside it)`);
  const rounds = quick ? 1 : plan.rounds;
  const samples = new Map();
  for (let r = 0; r < rounds; r++) {
    for (const c of plan.cases) {
      const run = spawnSync(process.execPath, ['--expose-gc', new URL(`./${plan.script ?? suite}.mjs`, import.meta.url).pathname, '--impl', c.impl, ...c.args], {
        env,
        encoding: 'utf8',
        timeout: 120_000,
      });
      const line = run.stdout.trim().split('\n').pop();
      if (run.status !== 0 || !line?.startsWith('{')) {
        console.error(`${suite} ${c.impl} ${c.args.join(' ')} failed:\n${run.stderr}`);
        continue;
      }
      const key = `${c.group}|${c.impl}`;
      if (!samples.has(key)) samples.set(key, []);
      samples.get(key).push({ ...JSON.parse(line), round: r });
    }
  }
  const out = { suite, machine, rounds, results: {} };
  console.log(`## ${suite} (${rounds} round${rounds > 1 ? 's' : ''}, fresh process each, alternating)\n`);
  if (plan.micro) {
    const runs = samples.get('micro|node') ?? [];
    console.log('| operation | ns/op (median of rounds) | min–max |\n|---|---:|---:|');
    for (const k of Object.keys(runs[0] ?? {}).filter((k) => k !== 'impl' && k !== 'round')) {
      const v = runs.map((x) => x[k]);
      out.results[k] = { median: median(v), min: Math.min(...v), max: Math.max(...v) };
      console.log(`| ${k} | ${fmt(median(v))} | ${fmt(Math.min(...v))}–${fmt(Math.max(...v))} |`);
    }
  } else {
    // Ratios of the two measurements of the same round (a over b, "higher is better"):
    // drift of the machine between rounds hits both sides of a pair alike, so these spread
    // far less than a ratio of two medians.
    const paired = (a, b) => {
      const rs = [];
      for (const x of b) {
        const y = a.find((l) => l.round === x.round);
        if (y) rs.push(plan.lowerIsBetter ? x[plan.metric] / y[plan.metric] : y[plan.metric] / x[plan.metric]);
      }
      return rs;
    };
    const groups = [...new Set(plan.cases.map((c) => c.group))];
    for (const g of groups) {
      console.log(
        `### ${g}\n\n| implementation | ${plan.unit} (median) | min–max | CPU % | client CPU µs/op | lifeguard vs this, paired (min–max) |${plan.baseline ? ` this vs ${plan.baseline}, paired |` : ''}${plan.diffBase ? ` this − ${plan.diffBase}, paired ns (min–max) |` : ''}\n|---|---:|---:|---:|---:|---:|${plan.baseline ? '---:|' : ''}${plan.diffBase ? '---:|' : ''}`,
      );
      const lgRuns = samples.get(`${g}|lifeguard`) ?? [];
      for (const c of plan.cases.filter((c) => c.group === g)) {
        const runs = samples.get(`${g}|${c.impl}`) ?? [];
        if (runs.length === 0) continue;
        const v = runs.map((x) => x[plan.metric]);
        const m = median(v);
        const pairs = paired(lgRuns, runs);
        const ratio = pairs.length ? median(pairs) : NaN;
        const base = plan.baseline ? paired(runs, samples.get(`${g}|${plan.baseline}`) ?? []) : [];
        const cpuUs = median(runs.map((x) => (x.cpuPct / 100) * (plan.metric === 'opsPerSec' ? 1e6 / x.opsPerSec : x.nsPerOp / 1000)));
        out.results[`${g}|${c.impl}`] = {
          median: m,
          min: Math.min(...v),
          max: Math.max(...v),
          cpuPct: median(runs.map((x) => x.cpuPct)),
          cpuUsPerOp: cpuUs,
          ratio,
          ratioMin: Math.min(...pairs),
          ratioMax: Math.max(...pairs),
          ...(plan.baseline ? { vsBaseline: median(base), vsBaselineMin: Math.min(...base), vsBaselineMax: Math.max(...base) } : {}),
          samples: runs,
        };
        const ratioText = c.impl === 'lifeguard' ? '—' : `${ratio.toFixed(2)}× (${Math.min(...pairs).toFixed(2)}–${Math.max(...pairs).toFixed(2)})`;
        let baseText = plan.baseline ? ` ${median(base).toFixed(2)}× (${Math.min(...base).toFixed(2)}–${Math.max(...base).toFixed(2)}) |` : '';
        if (plan.diffBase) {
          // paired differences: this round's figure minus the same round's diffBase figure
          const b = samples.get(`${g}|${plan.diffBase}`) ?? [];
          const d = runs.map((x) => [x, b.find((y) => y.round === x.round)]).filter(([, y]) => y).map(([x, y]) => x[plan.metric] - y[plan.metric]);
          out.results[`${g}|${c.impl}`].diff = { median: median(d), min: Math.min(...d), max: Math.max(...d) };
          baseText += c.impl === plan.diffBase ? ' — |' : ` ${median(d).toFixed(0)} (${Math.min(...d).toFixed(0)}–${Math.max(...d).toFixed(0)}) |`;
        }
        console.log(
          `| ${c.impl} | ${fmt(m)} | ${fmt(Math.min(...v))}–${fmt(Math.max(...v))} | ${Math.round(median(runs.map((x) => x.cpuPct)))} | ${cpuUs.toFixed(cpuUs < 10 ? 2 : 1)} | ${ratioText} |${baseText}`,
        );
      }
      console.log('');
    }
  }
  console.log('');
  writeFileSync(new URL(`./results/${suite}.json`, import.meta.url), JSON.stringify(out, null, 2));
}

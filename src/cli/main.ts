/**
 * `lifeguard`: the on-call command line. `doctor` (one read-only pass, exit code by
 * severity), `monitor` (the same, refreshed), `cleanup` (end matching connections).
 * Exit codes: 0 nothing found / done, 1 warning, 2 critical, 3 could not connect or usage error.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { cleanup, type CleanupFilters } from './cleanup.js';
import { doctor } from './doctor.js';
import { DEFAULT_THRESHOLDS, type Thresholds } from './findings.js';
import { monitor } from './monitor.js';
import type { Targets } from './session.js';

declare const __LIFEGUARD_VERSION__: string | undefined;
const VERSION = typeof __LIFEGUARD_VERSION__ === 'string' ? __LIFEGUARD_VERSION__ : '0.0.0-dev';

/** Exit code of a usage error or of a server that could not be read. */
export const EXIT_UNREACHABLE = 3;

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds >= 0');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

interface CommonFlags {
  pg?: string;
  redis?: string;
  endpoint?: string[];
  json?: boolean;
}

interface ThresholdFlags {
  idle: number;
  idleInTransaction: number;
  longQuery: number;
}

class UsageError extends Error {}

function targets(flags: CommonFlags, env: NodeJS.ProcessEnv, needServer: boolean): Targets {
  const pg = flags.pg ?? (env.DATABASE_URL || undefined);
  const redis = flags.redis ?? (env.REDIS_URL || undefined);
  const endpoints = flags.endpoint ?? [];
  if (needServer ? pg === undefined && redis === undefined : pg === undefined && redis === undefined && endpoints.length === 0) {
    throw new UsageError('nothing to look at: give --pg URL and/or --redis URL (or set DATABASE_URL / REDIS_URL)' + (needServer ? '' : ', or --endpoint URL'));
  }
  return { pg, redis, endpoints };
}

function thresholds(f: ThresholdFlags): Thresholds {
  return { ...DEFAULT_THRESHOLDS, idleS: f.idle, idleInTransactionS: f.idleInTransaction, longQueryS: f.longQuery };
}

function serverOptions(cmd: Command): Command {
  return cmd
    .option('--pg <url>', 'PostgreSQL URL (default: $DATABASE_URL)')
    .option('--redis <url>', 'Redis URL (default: $REDIS_URL)')
    .option('--json', 'print JSON (stable field names, see the README)', false);
}

function thresholdOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--endpoint <url>', 'a lifeguard/http endpoint of a running app (repeatable): its pools, leases and budgets').argParser(collect))
    .option('--idle <s>', 'report connections idle longer than this', seconds, DEFAULT_THRESHOLDS.idleS)
    .option('--idle-in-transaction <s>', 'report sessions idle in transaction longer than this', seconds, DEFAULT_THRESHOLDS.idleInTransactionS)
    .option('--long-query <s>', 'report queries running longer than this', seconds, DEFAULT_THRESHOLDS.longQueryS);
}

/** Builds the command line; actions set `result.code`. */
function program(env: NodeJS.ProcessEnv, out: NodeJS.WritableStream, result: { code: number }): Command {
  const prog = new Command('lifeguard')
    .description('On-call tools for lifeguard pools: who holds the Redis and PostgreSQL connections, what is wrong, and cleanup.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', '\nExit codes: 0 nothing found / done, 1 warning, 2 critical, 3 could not connect or usage error.')
    .exitOverride();

  thresholdOptions(
    serverOptions(
      prog
        .command('doctor')
        .description('one read-only pass: connections by app -> pool -> process, and the runbook findings'),
    ),
  ).action(async (flags: CommonFlags & ThresholdFlags) => {
    result.code = await doctor(targets(flags, env, true), thresholds(flags), flags.json === true, out);
  });

  thresholdOptions(
    serverOptions(prog.command('monitor').description('the doctor view refreshed live; with --endpoint, also a running app\'s pools and leases')),
  )
    .option('--interval <s>', 'seconds between refreshes', seconds, 2)
    .option('--count <n>', 'stop after n refreshes (default: until Ctrl-C)', positiveInt)
    .action(async (flags: CommonFlags & ThresholdFlags & { interval: number; count?: number }) => {
      const stdout = out as NodeJS.WritableStream & { isTTY?: boolean };
      result.code = await monitor(
        targets(flags, env, false),
        thresholds(flags),
        { intervalS: Math.max(flags.interval, 0.1), count: flags.count, json: flags.json === true, tty: stdout.isTTY === true && flags.json !== true },
        out,
      );
    });

  serverOptions(prog.command('cleanup').description('end server-side connections matching every filter (dry run unless --yes)'))
    .requiredOption('--app <app>', 'the app part of lifeguard connection names')
    .option('--pool <pool>', 'only this pool')
    .option('--pid <n>', 'only this process (the pid in the name)', positiveInt)
    .option('--idle-for <s>', 'only connections idle at least this long', seconds)
    .addOption(new Option('--state <state>', 'only connections in this state').choices(['idle', 'idle-in-transaction']))
    .addOption(new Option('--type <type>', 'only normal or pub/sub (LISTEN) connections').choices(['normal', 'pubsub']))
    .option('--include-unnamed', 'also connections without any name (not with --pool / --pid)', false)
    .option('--yes', 'end them (default: print what would be ended)', false)
    .action(
      async (
        flags: CommonFlags & {
          app: string;
          pool?: string;
          pid?: number;
          idleFor?: number;
          state?: 'idle' | 'idle-in-transaction';
          type?: 'normal' | 'pubsub';
          includeUnnamed: boolean;
          yes: boolean;
        },
      ) => {
        const filters: CleanupFilters = {
          app: flags.app,
          pool: flags.pool,
          pid: flags.pid,
          idleForS: flags.idleFor,
          state: flags.state,
          type: flags.type,
          includeUnnamed: flags.includeUnnamed,
        };
        result.code = await cleanup(targets(flags, env, true), filters, flags.yes, flags.json === true, out);
      },
    );
  return prog;
}

/** Runs the command line; resolves with the exit code. */
export async function main(argv: readonly string[] = process.argv, env: NodeJS.ProcessEnv = process.env, out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const result = { code: 0 };
  const prog = program(env, out, result);
  prog.configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) });
  try {
    await prog.parseAsync(argv as string[]);
    return result.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help, --version: 0; anything else commander rejects is a usage error
      return e.exitCode === 0 ? 0 : EXIT_UNREACHABLE;
    }
    if (e instanceof UsageError) {
      err.write(`lifeguard: ${e.message}\n`);
      return EXIT_UNREACHABLE;
    }
    err.write(`lifeguard: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_UNREACHABLE;
  }
}

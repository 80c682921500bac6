/**
 * Runs a fixture script in a child process (against the built package, as a user's
 * script would run) and lets a test await its output lines and its exit.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DATABASE_URL } from './env.js';

/** A running script: its output so far, a line to wait for, and its exit. */
export interface ScriptRun {
  /** stdout lines, with the time (performance.now() in this process) each arrived. */
  readonly lines: { text: string; at: number }[];
  /** Resolves with the first line (arrived or arriving) that matches. */
  line(match: RegExp): Promise<{ text: string; at: number }>;
  /** Resolves when the process exits: its code and when. */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number; stderr: string }>;
  kill(): void;
}

/** Starts `test/fixtures/pg-scripts/<name>` with `DATABASE_URL` and `env`; killed after `timeoutMs`. */
export function runScript(name: string, env: Record<string, string> = {}, timeoutMs = 20_000): ScriptRun {
  const file = fileURLToPath(new URL(`../fixtures/pg-scripts/${name}`, import.meta.url));
  const child = spawn(process.execPath, [file], {
    env: { ...process.env, DATABASE_URL, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: { text: string; at: number }[] = [];
  const waiting: { match: RegExp; resolve: (l: { text: string; at: number }) => void }[] = [];
  let buf = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n')) !== -1) {
      const l = { text: buf.slice(0, i), at: performance.now() };
      buf = buf.slice(i + 1);
      lines.push(l);
      for (const w of waiting.splice(0)) {
        if (w.match.test(l.text)) w.resolve(l);
        else waiting.push(w);
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, at: performance.now(), stderr });
    });
  });
  return {
    lines,
    line(match) {
      const found = lines.find((l) => match.test(l.text));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        waiting.push({ match, resolve });
        void exit.then((e) => reject(new Error(`script ${name} exited (${e.code}) before printing ${match}; stdout: ${lines.map((l) => l.text).join(' | ')}; stderr: ${e.stderr}`)));
      });
    },
    exit,
    kill: () => child.kill('SIGKILL'),
  };
}

/**
 * Acquisition sites: captured structurally (one `Error.captureStackTrace` into a
 * plain holder), parsed and formatted only when a report needs the text. The site
 * is the first *application* frame: lifeguard's own frames, Node internals,
 * dependencies (`node_modules`) and frames matching `leakDetection.ignoreFrames`
 * are passed over; dependency frames stay in the printed stack for context.
 */
import { readFileSync } from 'node:fs';

/** A captured, not yet parsed stack. */
export interface SiteHolder {
  stack?: string;
  /** Set once parsed (the raw text is dropped then). */
  parsed?: ParsedSite;
}

/** A parsed capture. */
export interface ParsedSite {
  /** Frames without lifeguard's and Node's, `at ` prefix removed. */
  readonly frames: readonly string[];
  /** Index in `frames` of the first application frame, -1 when there is none. */
  readonly app: number;
}

/**
 * Why a report has no site: capture is off, this acquire was not sampled, the
 * scoped call is still running and its site not taken yet, the call was not awaited
 * (no async caller to name), or every frame was lifeguard's, Node's or a dependency's.
 */
export type NoSiteReason = 'capture-off' | 'not-sampled' | 'pending' | 'not-awaited' | 'no-application-frame';

/** Frames a team wants passed over when the site is picked (its own db helpers). */
export type FrameMatcher = string | RegExp;

type Entry = (...args: never[]) => unknown;

/**
 * Captures the current stack below `entry` (the public lifeguard method the user
 * called; it and everything above it are cut), keeping at most `limit` frames.
 */
export function captureSite(entry: Entry, limit: number): SiteHolder {
  const holder: SiteHolder = {};
  const prev = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  Error.captureStackTrace(holder, entry);
  Error.stackTraceLimit = prev;
  return holder;
}

/**
 * Node's frames that can sit above a promise reaction on the synchronous stack: none
 * (microtasks drained after a native callback), `processTicksAndRejections`, or
 * `runNextTicks` with the timer or immediate loop that called it (three).
 */
const RUNNER_FRAMES = 3;

/**
 * Captures the stack of a promise reaction (`reaction` and above cut), for the async
 * callers that await it: Node's microtask runner frames on top are dropped, so `limit`
 * counts the awaiting callers, and at most `limit` frames are kept.
 */
export function captureReaction(reaction: Entry, limit: number): SiteHolder {
  const holder: SiteHolder = {};
  const prev = Error.stackTraceLimit;
  Error.stackTraceLimit = limit + RUNNER_FRAMES;
  Error.captureStackTrace(holder, reaction);
  Error.stackTraceLimit = prev;
  const stack: unknown = holder.stack;
  if (typeof stack !== 'string') return holder;
  const lines = stack.split('\n');
  let first = 1; // lines[0] is the `Error` header
  while (first <= RUNNER_FRAMES && first < lines.length && isNodeFrameLine(lines[first]!)) first++;
  if (first > 1 || lines.length > limit + 1) holder.stack = [lines[0]!, ...lines.slice(first, first + limit)].join('\n');
  return holder;
}

function isNodeFrameLine(line: string): boolean {
  const t = line.trim();
  return t.startsWith('at ') && isNodeLocation(frameLocation(t.slice(3)));
}

/** A location in Node's own code (`node:internal/…`, or `internal/…` on older Node). */
function isNodeLocation(loc: string): boolean {
  return loc.startsWith('node:') || loc.startsWith('internal/');
}

/**
 * lifeguard's own files: its `src/` or `dist/` folder when this module runs from
 * the lifeguard package (found through its package.json). When lifeguard is bundled
 * into an application there is no such folder: its frames are cut at capture time
 * (the `entry` above), and the bundle's other frames are the application's.
 */
const OWN_DIRS = ownDirectories();

function ownDirectories(): readonly string[] {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder);
  const first = holder.stack?.split('\n')[1];
  const loc = first === undefined ? undefined : frameLocation(first.trim().slice(3));
  const file = loc === undefined ? undefined : fileOf(loc);
  if (file === undefined) return [];
  const m = /^(.*[\\/])(dist|src)[\\/]/.exec(file);
  if (!m) return [];
  const root = m[1]!;
  try {
    const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { name?: unknown };
    if (pkg.name !== 'lifeguard') return [];
  } catch {
    return [];
  }
  return m[2] === 'src' ? [`${root}src`] : [`${root}dist`];
}

/** The location part of a frame (`/a/b.js:1:2`, `node:internal/…`, `native`, `<anonymous>`). */
function frameLocation(frame: string): string {
  if (!frame.endsWith(')')) return frame.startsWith('async ') ? frame.slice(6) : frame;
  // the last balanced parenthesis group: `fn (loc)`, `eval (eval at x (loc), <anonymous>:1:1)`
  let depth = 0;
  for (let i = frame.length - 1; i >= 0; i--) {
    const ch = frame[i];
    if (ch === ')') depth++;
    else if (ch === '(' && --depth === 0) return frame.slice(i + 1, -1);
  }
  return frame;
}

/** The file of a location with line and column (`file://` URLs decoded), else undefined. */
function fileOf(loc: string): string | undefined {
  const m = /^(.*):\d+:\d+$/.exec(loc);
  if (!m) return undefined;
  const f = m[1]!;
  return f.startsWith('file://') ? decodeURIComponent(f.slice(7)) : f;
}

const enum Kind {
  Skip, // lifeguard's own, Node internals, native code
  Dependency,
  Application,
}

function classify(frame: string, ignore: readonly FrameMatcher[]): Kind {
  const loc = frameLocation(frame);
  if (isNodeLocation(loc)) return Kind.Skip;
  const file = fileOf(loc);
  if (file === undefined) return Kind.Skip; // native, <anonymous>, `index 0` of Promise.all
  for (const dir of OWN_DIRS) {
    if (file.startsWith(dir) && (file[dir.length] === '/' || file[dir.length] === '\\')) return Kind.Skip;
  }
  if (file.includes('/node_modules/') || file.includes('\\node_modules\\')) return Kind.Dependency;
  for (const m of ignore) {
    if (typeof m === 'string') {
      if (frame.includes(m)) return Kind.Dependency;
    } else {
      m.lastIndex = 0; // a /g or /y RegExp keeps state between calls
      if (m.test(frame)) return Kind.Dependency;
    }
  }
  return Kind.Application;
}

/** Parses a capture once; later calls return the cached result. */
export function parseSite(holder: SiteHolder, ignore: readonly FrameMatcher[]): ParsedSite {
  if (holder.parsed) return holder.parsed;
  const lines = (holder.stack ?? '').split('\n');
  const frames: string[] = [];
  let app = -1;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line.startsWith('at ')) continue;
    const frame = line.slice(3);
    const kind = classify(frame, ignore);
    if (kind === Kind.Skip) continue;
    if (kind === Kind.Application && app === -1) app = frames.length;
    frames.push(frame);
  }
  holder.parsed = { frames, app };
  holder.stack = undefined;
  return holder.parsed;
}

/** `file:line:col` of the first application frame, relative to the working directory. */
export function siteText(parsed: ParsedSite): string | undefined {
  return parsed.app === -1 ? undefined : shortLocation(parsed.frames[parsed.app]!);
}

/**
 * The frames as an indented stack block: the application frame first, then its
 * callers; the dependency frames it went through follow as `(via …)` lines.
 */
export function stackText(parsed: ParsedSite): string | undefined {
  if (parsed.frames.length === 0) return undefined;
  const from = parsed.app === -1 ? 0 : parsed.app;
  const out: string[] = [];
  for (let i = from; i < parsed.frames.length; i++) out.push(`    at ${parsed.frames[i]}`);
  for (let i = 0; i < from; i++) out.push(`    (via ${parsed.frames[i]})`);
  return out.join('\n');
}

function shortLocation(frame: string): string {
  let loc = frameLocation(frame);
  if (loc.startsWith('file://')) loc = decodeURIComponent(loc.slice(7));
  const cwd = process.cwd();
  if (loc.startsWith(cwd + '/') || loc.startsWith(cwd + '\\')) loc = loc.slice(cwd.length + 1);
  return loc;
}

/** The words a report prints where a site is missing, by reason. */
export function noSiteText(reason: NoSiteReason): string {
  switch (reason) {
    case 'capture-off':
      return 'no site: stack capture is off (leakDetection.captureStacks: false)';
    case 'not-sampled':
      return "no site: this acquire was not sampled (leakDetection.captureStacks 'sampled'); the next ones are, for a while";
    case 'pending':
      return 'site pending: the call is still running; its site is taken a moment after a report asks';
    case 'not-awaited':
      return 'no site: the call was not awaited, so it has no async caller to name (await it, or pass a tag)';
    case 'no-application-frame':
      return 'no application frame: every frame was lifeguard\'s, Node\'s or a dependency\'s (see the tag)';
  }
}

/** `file:line:col` of the first application frame of a capture (no ignore list). */
export function formatSite(holder: SiteHolder | undefined): string | undefined {
  return holder === undefined ? undefined : siteText(parseSite(holder, NO_IGNORE));
}

const NO_IGNORE: readonly FrameMatcher[] = [];

/**
 * Acquisition sites: captured structurally on the hot path (one
 * `Error.captureStackTrace` into a plain holder), formatted only when a report
 * needs the text. Frames of lifeguard itself and of Node internals are dropped, so
 * the first frame of a report is the user's line.
 */

/** A captured, not yet formatted stack. */
export interface SiteHolder {
  stack?: string;
  /** Cached formatted user frames. */
  frames?: readonly string[];
}

type Entry = (...args: never[]) => unknown;

/**
 * Captures the current stack above `entry` (the public lifeguard method the user
 * called), keeping at most `limit` frames.
 */
export function captureSite(entry: Entry, limit: number): SiteHolder {
  const holder: SiteHolder = {};
  const prev = Error.stackTraceLimit;
  Error.stackTraceLimit = limit;
  Error.captureStackTrace(holder, entry);
  Error.stackTraceLimit = prev;
  return holder;
}

const OWN_DIR = ownDirectory();

function ownDirectory(): string | undefined {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder);
  const first = holder.stack?.split('\n')[1];
  const found = first ? frameFile(first) : undefined;
  if (!found) return undefined;
  const file = found.startsWith('file://') ? decodeURIComponent(found.slice(7)) : found;
  // .../lifeguard/dist/x.js or .../src/core/site.ts: the package root is above dist/ or src/
  const m = /^(.*[\\/])(?:dist|src)[\\/]/.exec(file);
  return m ? m[1] : undefined;
}

function frameFile(frame: string): string | undefined {
  const m = /\(([^()]+):\d+:\d+\)\s*$/.exec(frame) ?? /at (?:async )?([^\s()]+):\d+:\d+\s*$/.exec(frame);
  return m?.[1];
}

function isOwnOrInternal(frame: string): boolean {
  if (frame.includes('(node:') || frame.includes(' node:') || frame.includes('<anonymous>')) return true;
  if (OWN_DIR === undefined) return false;
  const file = frameFile(frame);
  if (!file) return false;
  const path = file.startsWith('file://') ? decodeURIComponent(file.slice(7)) : file;
  if (!path.startsWith(OWN_DIR)) return false;
  const rest = path.slice(OWN_DIR.length);
  // only lifeguard's own sources; the tests and examples beside them are user code
  return rest.startsWith('src/') || rest.startsWith('dist/') || rest.startsWith('src\\') || rest.startsWith('dist\\');
}

/** The user frames of a captured site, without the `at ` prefix. */
export function siteFrames(holder: SiteHolder): readonly string[] {
  if (holder.frames) return holder.frames;
  const lines = (holder.stack ?? '').split('\n');
  const frames: string[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trimStart().startsWith('at ') || isOwnOrInternal(line)) continue;
    frames.push(line.trim().slice(3));
  }
  holder.frames = frames;
  holder.stack = undefined;
  return frames;
}

/** `file:line:col` of the first user frame, relative to the working directory. */
export function formatSite(holder: SiteHolder | undefined): string | undefined {
  if (!holder) return undefined;
  const first = siteFrames(holder)[0];
  if (first === undefined) return undefined;
  return shortLocation(first);
}

/** The user frames as an indented stack block. */
export function formatStack(holder: SiteHolder | undefined): string | undefined {
  if (!holder) return undefined;
  const frames = siteFrames(holder);
  if (frames.length === 0) return undefined;
  return frames.map((f) => `    at ${f}`).join('\n');
}

function shortLocation(frame: string): string {
  const m = /\(([^()]+)\)\s*$/.exec(frame);
  let loc = m ? m[1]! : frame.replace(/^async /, '');
  if (loc.startsWith('file://')) loc = decodeURIComponent(loc.slice(7));
  const cwd = process.cwd();
  if (loc.startsWith(cwd + '/') || loc.startsWith(cwd + '\\')) loc = loc.slice(cwd.length + 1);
  return loc;
}

/**
 * Request tags for leak reports: every lease taken while serving a request carries
 * `"<METHOD> <route>"`, e.g. `GET /users/:id`.
 */
import { runWithTag } from './core/context.js';

/** What the tag helpers read from a request (node:http, Express, Connect). */
export interface TaggableRequest {
  method?: string | undefined;
  url?: string | undefined;
  /** Express: the mount path of the router. */
  baseUrl?: string;
  /** Express: the path within the router. */
  path?: string;
}

const ID_SEGMENT = /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{24,})$/i;

/**
 * `"GET /users/:id"`: method plus path without the query string, with numeric, UUID
 * and long hex segments replaced by `:id` so that tags stay few.
 */
export function requestTag(req: TaggableRequest): string {
  const raw = req.path !== undefined ? `${req.baseUrl ?? ''}${req.path}` : (req.url ?? '/');
  const q = raw.indexOf('?');
  const path = (q === -1 ? raw : raw.slice(0, q))
    .split('/')
    .map((s) => (ID_SEGMENT.test(s) ? ':id' : s))
    .join('/');
  return `${req.method ?? 'GET'} ${path || '/'}`;
}

/** Options of the tag helpers. */
export interface TagOptions<R> {
  /**
   * How to name a request.
   * @default {@link requestTag}
   */
  tag?: (req: R) => string;
}

/**
 * Express/Connect middleware: `app.use(tagRequests())`. The rest of the request runs
 * inside the tag's async context.
 */
export function tagRequests<R extends TaggableRequest>(
  options?: TagOptions<R>,
): (req: R, res: unknown, next: (err?: unknown) => void) => void {
  const name = options?.tag ?? requestTag;
  return (req, _res, next) => runWithTag(name(req), () => next());
}

/** Wraps a `node:http` handler: `http.createServer(withRequestTag(handler))`. */
export function withRequestTag<R extends TaggableRequest, S, T>(
  handler: (req: R, res: S) => T,
  options?: TagOptions<R>,
): (req: R, res: S) => T {
  const name = options?.tag ?? requestTag;
  return (req, res) => runWithTag(name(req), () => handler(req, res));
}

/**
 * The one error path of the worker: every failure, from a missing key to a backend timeout, leaves as
 * an RFC 9457 `application/problem+json` body `{ type, title, status, detail, request_id, errors?, error }`.
 * `error` is an extension member in the error shape of the clients people already use: OpenAI's
 * `{ message, type, param, code }` everywhere, so the OpenAI clients show the detail and pick their own
 * error class by status; under `/hf/` the detail as a string, which is what the Hugging Face clients
 * print (they would print an object as "[object Object]").
 *
 * This module has no runtime Hono import, so services can throw {@link ProblemError} too.
 */
import type { Context } from 'hono';
import type { ZodError } from 'zod';

/** Base of every problem `type` URI; the slug after it is stable and documented. */
export const PROBLEM_TYPE_BASE = 'https://coyo-edge.dev/problems/';

/**
 * One table from problem slug to HTTP status and title, so a slug always means the same status. A
 * slug with `retryAfterSeconds` always leaves with a `Retry-After` header: the thrower's own value
 * when it knows better (the circuit's next check, the backend's own hint), else this default.
 */
export const PROBLEMS = {
  invalid_request: { status: 400, title: 'Invalid request' },
  validation_failed: { status: 400, title: 'Request validation failed' },
  image_url_not_allowed: { status: 400, title: 'Image URL not allowed' },
  digest_mismatch: { status: 400, title: 'Content digest mismatch' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  payload_too_large: { status: 413, title: 'Payload too large' },
  image_too_large: { status: 413, title: 'Image too large' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  image_fetch_failed: { status: 422, title: 'Image fetch failed' },
  invalid_image: { status: 422, title: 'Invalid image' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal server error' },
  backend_error: { status: 502, title: 'Backend error' },
  backend_unavailable: { status: 503, title: 'Backend unavailable', retryAfterSeconds: 1 },
  overloaded: { status: 503, title: 'Overloaded', retryAfterSeconds: 1 },
  backend_timeout: { status: 504, title: 'Backend timeout', retryAfterSeconds: 2 },
} as const satisfies Record<string, { status: number; title: string; retryAfterSeconds?: number }>;

export type ProblemSlug = keyof typeof PROBLEMS;

/** One failing field of a request, e.g. `{ in: "body", path: "labels[2]", message: "..." }`. */
export interface FieldError {
  in: 'body' | 'query' | 'path' | 'header';
  path: string;
  message: string;
}

/** The problem in OpenAI's error shape: `code` is the problem slug, `param` the first failing field. */
export interface OpenAiErrorMember {
  message: string;
  type: OpenAiErrorType;
  param: string | null;
  code: ProblemSlug;
}

/** The `error.type` values OpenAI's API uses, by status class. */
export type OpenAiErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'rate_limit_error' | 'server_error';

/** The wire shape of a problem. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  request_id: string;
  errors?: FieldError[];
  error: OpenAiErrorMember | string;
}

/** Which client's error shape the `error` member takes. */
export type ErrorDialect = 'openai' | 'hf';

/** The error dialect of a request path: Hugging Face's under `/hf/`, OpenAI's elsewhere. */
export function errorDialectOf(path: string): ErrorDialect {
  return path === '/hf' || path.startsWith('/hf/') ? 'hf' : 'openai';
}

/** OpenAI's `error.type` for a status. */
export function openAiErrorType(status: number): OpenAiErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export interface ProblemErrorOptions {
  errors?: FieldError[] | undefined;
  headers?: Record<string, string> | undefined;
  cause?: unknown;
}

/** A failure with a known problem type; thrown anywhere, rendered once by {@link handleError}. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  readonly slug: ProblemSlug;
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string>;

  constructor(slug: ProblemSlug, detail: string, options: ProblemErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.slug = slug;
    this.status = PROBLEMS[slug].status;
    this.errors = options.errors;
    this.headers = options.headers ?? {};
  }
}

/** Builds the problem body for a slug; `errors` is omitted when there are none. */
export function problemBody(slug: ProblemSlug, detail: string, requestId: string, errors?: FieldError[], dialect: ErrorDialect = 'openai'): ProblemBody {
  const { status, title } = PROBLEMS[slug];
  const hasErrors = errors !== undefined && errors.length > 0;
  const param = hasErrors && errors[0] !== undefined && errors[0].path !== '' ? errors[0].path : null;
  const error = dialect === 'hf' ? detail : { message: detail, type: openAiErrorType(status), param, code: slug };
  return { type: `${PROBLEM_TYPE_BASE}${slug}`, title, status, detail, request_id: requestId, ...(hasErrors ? { errors } : {}), error };
}

/** The default `Retry-After` of a slug, in seconds, or undefined when it has none. */
export function defaultRetryAfterSeconds(slug: ProblemSlug): number | undefined {
  const entry = PROBLEMS[slug];
  return 'retryAfterSeconds' in entry ? entry.retryAfterSeconds : undefined;
}

/**
 * Renders a problem as a `Response` with the RFC 9457 media type and never-cache semantics. Every
 * problem that tells the client to come back later (503, 504) carries `Retry-After`, whichever code
 * path produced it.
 */
export function problemResponse(
  slug: ProblemSlug,
  detail: string,
  requestId: string,
  options: { errors?: FieldError[] | undefined; headers?: Record<string, string> | undefined; dialect?: ErrorDialect | undefined } = {},
): Response {
  const body = problemBody(slug, detail, requestId, options.errors, options.dialect);
  const headers = new Headers(options.headers);
  headers.set('content-type', 'application/problem+json');
  headers.set('cache-control', 'no-store');
  const retryAfter = defaultRetryAfterSeconds(slug);
  if (retryAfter !== undefined && !headers.has('retry-after')) headers.set('retry-after', String(retryAfter));
  return new Response(JSON.stringify(body), { status: body.status, headers });
}

/** Formats a zod path as `labels[2].url`, the way a client would write it. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Turns zod issues into field errors, prefixed with where the value came from. */
export function fieldErrorsFromZod(error: ZodError, location: FieldError['in'], prefix: readonly PropertyKey[] = []): FieldError[] {
  return error.issues.map((issue) => ({
    in: location,
    path: formatPath([...prefix, ...issue.path]),
    message: issue.message,
  }));
}

/** A 400 `validation_failed` problem carrying every failing field. */
export function validationProblem(errors: FieldError[]): ProblemError {
  const first = errors[0];
  const detail =
    errors.length === 1 && first
      ? `${first.path || `the ${first.in}`}: ${first.message}`
      : `${errors.length} fields failed validation`;
  return new ProblemError('validation_failed', detail, { errors });
}

/** Maps a validator target of @hono/zod-openapi to where the value came from. */
function locationOf(target: string): FieldError['in'] {
  switch (target) {
    case 'query':
      return 'query';
    case 'param':
      return 'path';
    case 'header':
      return 'header';
    default:
      return 'body';
  }
}

/**
 * The `defaultHook` of the app: a failed request validation becomes a `validation_failed` problem
 * with the failing field paths, whatever the route.
 */
export function validationHook(
  result: { success: true; data: unknown; target: string } | { success: false; error: ZodError; target: string },
): void {
  if (!result.success) throw validationProblem(fieldErrorsFromZod(result.error, locationOf(result.target)));
}

/** Status codes an `HTTPException` may carry, mapped to our problem slugs. */
const SLUG_BY_STATUS: Record<number, ProblemSlug> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  502: 'backend_error',
  503: 'backend_unavailable',
  504: 'backend_timeout',
};

interface HttpExceptionLike {
  status: number;
  message: string;
  getResponse(): Response;
}

function isHttpException(err: unknown): err is HttpExceptionLike {
  return (
    err instanceof Error &&
    typeof (err as Partial<HttpExceptionLike>).status === 'number' &&
    typeof (err as Partial<HttpExceptionLike>).getResponse === 'function'
  );
}

function requestIdOf(c: Context): string {
  // Unset when the failure happened before the request-id middleware ran.
  const id = c.get('requestId') as string | undefined;
  return id ?? 'unknown';
}

/**
 * The app's `onError`: renders {@link ProblemError}s as they are, Hono's `HTTPException`s (malformed
 * JSON, body limits, media-type gates of other middleware) by their status, and anything else as a
 * logged 500 that leaks no internals.
 */
export function handleError(err: Error, c: Context): Response {
  const requestId = requestIdOf(c);
  const dialect = errorDialectOf(c.req.path);
  if (err instanceof ProblemError) {
    // A shed request is the limiter working, not a fault; /healthz counts them instead of a log line each.
    if (err.status >= 500 && err.slug !== 'overloaded') console.error(JSON.stringify({ level: 'error', request_id: requestId, problem: err.slug, detail: err.message }));
    return problemResponse(err.slug, err.message, requestId, { errors: err.errors, headers: err.headers, dialect });
  }
  if (isHttpException(err)) {
    const slug = SLUG_BY_STATUS[err.status] ?? (err.status >= 500 ? 'internal' : 'invalid_request');
    const headers: Record<string, string> = {};
    const retryAfter = err.getResponse().headers.get('retry-after');
    if (retryAfter !== null) headers['retry-after'] = retryAfter;
    const detail = err.message || PROBLEMS[slug].title;
    return problemResponse(slug, detail, requestId, { headers, dialect });
  }
  console.error(
    JSON.stringify({
      level: 'error',
      request_id: requestId,
      error: err.name,
      message: err.message,
      stack: err.stack,
    }),
  );
  return problemResponse('internal', 'An unexpected error occurred; quote the request_id when reporting it.', requestId, { dialect });
}

/**
 * Compiles a Hono route path (`/v1/rows/:id`, `/docs/*`) to a regular expression over request paths.
 * Exact like Hono's strict routing: `/healthz/` is not `/healthz`, so it is a 404, not a 405.
 */
function routePattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      if (segment.startsWith(':')) return '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * Builds the app's `notFound` handler. When the path exists under other methods the answer is 405
 * with an `Allow` header, as RFC 9110 asks, instead of a misleading 404.
 */
export function notFoundHandler(routes: () => readonly { method: string; path: string }[]) {
  return function notFound(c: Context): Response {
    const requestId = requestIdOf(c);
    const path = c.req.path;
    const allowed = new Set<string>();
    for (const route of routes()) {
      if (route.method === 'ALL') continue;
      if (routePattern(route.path).test(path)) allowed.add(route.method.toUpperCase());
    }
    if (allowed.size > 0) {
      if (allowed.has('GET')) allowed.add('HEAD');
      const allow = [...allowed].sort().join(', ');
      return problemResponse('method_not_allowed', `${c.req.method} is not allowed on ${path}; use ${allow}.`, requestId, {
        headers: { allow },
        dialect: errorDialectOf(path),
      });
    }
    return problemResponse('not_found', `No route matches ${c.req.method} ${path}.`, requestId, { dialect: errorDialectOf(path) });
  };
}

/**
 * CORS for the public API, from the `ALLOWED_ORIGINS` var (`*`, or a comma-separated list of origins
 * such as `https://app.example.com, http://localhost:5173`; empty allows none).
 *
 * - Preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) are answered here, before
 *   auth, with 204 (allowed origin) or a 403 problem (any other origin).
 * - Every other response gets `Vary: Origin`, and, for an allowed origin, `Access-Control-Allow-Origin`
 *   and `Access-Control-Expose-Headers` — error responses included, so a browser can read a 401 or 429.
 * - Credentials (cookies) are never allowed: the API authenticates with a bearer key, which a script
 *   sends explicitly, so `*` stays safe.
 */
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { ConfigError } from '../env';
import { ProblemError } from '../errors';

/** Response headers a browser script may read (the CORS default hides all but a few). */
export const CORS_EXPOSED_HEADERS = ['x-request-id', 'x-cache', 'RateLimit', 'RateLimit-Policy', 'Retry-After'] as const;

/** Request headers a browser script may send: the key, JSON bodies, a correlation id, the SDK's retry count. */
export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'X-Request-Id', 'X-Retry-Count', 'X-Coyo-Client'] as const;

/** Methods the API serves. */
export const CORS_ALLOWED_METHODS = ['GET', 'HEAD', 'POST'] as const;

export interface CorsOptions {
  /** How long a browser may cache a preflight answer, in seconds (7200: Chromium's cap). */
  maxAgeSeconds?: number;
}

/** The parsed `ALLOWED_ORIGINS`: any origin, or an exact set of serialised origins. */
export type AllowedOrigins = { any: true } | { any: false; origins: ReadonlySet<string> };

const OriginEntrySchema = z.string().transform((entry, ctx) => {
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)} is not a URL origin (scheme://host[:port])` });
    return z.NEVER;
  }
  const bare = url.pathname === '/' && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || !bare || /[?#]/.test(entry)) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(entry)} is not an http(s) origin (scheme://host[:port], no path)` });
    return z.NEVER;
  }
  // URL.origin lower-cases scheme and host and drops a default port, as browsers serialise Origin.
  return url.origin;
});

const AllowedOriginsSchema = z.string().transform((raw, ctx): '*' | string[] => {
  const entries = raw
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.includes('*')) {
    if (entries.length === 1) return '*';
    ctx.addIssue({ code: 'custom', message: '"*" cannot be combined with other origins' });
    return z.NEVER;
  }
  const origins: string[] = [];
  for (const entry of entries) {
    const parsed = OriginEntrySchema.safeParse(entry);
    if (parsed.success) origins.push(parsed.data);
    else for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
  }
  return origins;
});

const parsedOrigins = new Map<string, AllowedOrigins>();

/**
 * Parses `ALLOWED_ORIGINS` once per distinct value; absent means `*` (the wrangler.toml default).
 * Throws a {@link ConfigError} naming the variable, so a typo fails loudly instead of silently
 * blocking every browser.
 *
 * @example parseAllowedOrigins('https://a.example, http://localhost:5173')
 */
export function parseAllowedOrigins(raw: string | undefined): AllowedOrigins {
  const value = raw ?? '*';
  const hit = parsedOrigins.get(value);
  if (hit) return hit;
  const result = AllowedOriginsSchema.safeParse(value);
  if (!result.success) {
    const reasons = result.error.issues.map((issue) => issue.message).join('; ');
    throw new ConfigError(`invalid worker configuration: ALLOWED_ORIGINS must be "*" or a comma-separated list of origins: ${reasons}`);
  }
  const allowed: AllowedOrigins = result.data === '*' ? { any: true } : { any: false, origins: new Set(result.data) };
  parsedOrigins.set(value, allowed);
  return allowed;
}

/** The `Access-Control-Allow-Origin` value for a request's `Origin`, or null when it is not allowed. */
function allowOriginFor(allowed: AllowedOrigins, origin: string): string | null {
  if (allowed.any) return '*';
  return allowed.origins.has(origin) ? origin : null;
}

/**
 * CORS middleware; mount it first after request-id, before auth, so preflights never need a key.
 *
 * @example app.use(requestId(), cors(), auth(), rateLimit())
 */
export function cors({ maxAgeSeconds = 7200 }: CorsOptions = {}): MiddlewareHandler<{ Bindings: { ALLOWED_ORIGINS?: string } }> {
  const exposed = CORS_EXPOSED_HEADERS.join(', ');
  const allowHeaders = CORS_ALLOWED_HEADERS.join(', ');
  const allowMethods = CORS_ALLOWED_METHODS.join(', ');
  return async function cors(c, next) {
    const allowed = parseAllowedOrigins(c.env?.ALLOWED_ORIGINS);
    const origin = c.req.header('origin');
    const isPreflight = c.req.method === 'OPTIONS' && origin !== undefined && c.req.header('access-control-request-method') !== undefined;

    if (isPreflight) {
      const allowOrigin = allowOriginFor(allowed, origin);
      const vary = 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers';
      if (allowOrigin === null) {
        throw new ProblemError('forbidden', `Origin ${origin} is not allowed to call this API from a browser.`, {
          headers: { vary },
        });
      }
      return new Response(null, {
        status: 204,
        headers: {
          'access-control-allow-origin': allowOrigin,
          'access-control-allow-methods': allowMethods,
          'access-control-allow-headers': allowHeaders,
          'access-control-max-age': String(maxAgeSeconds),
          vary,
        },
      });
    }

    await next();

    const vary = c.res.headers.get('vary');
    if (vary === null || !/(^|,)\s*(origin|\*)\s*(,|$)/i.test(vary)) c.header('vary', 'Origin', { append: true });
    if (origin === undefined) return;
    const allowOrigin = allowOriginFor(allowed, origin);
    if (allowOrigin === null) return;
    c.header('access-control-allow-origin', allowOrigin);
    c.header('access-control-expose-headers', exposed);
  };
}

/**
 * CORS for the public API, from the `ALLOWED_ORIGINS` var (`*`, or a comma-separated list of origins
 * such as `https://app.example.com, http://localhost:5173`; empty allows none; parsed in `env.ts`,
 * where a typo fails loudly instead of silently blocking every browser).
 *
 * - Preflights (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) are answered here, before
 *   auth, with 204 (allowed origin) or a 403 problem (any other origin).
 * - Every other response gets `Vary: Origin`, and, for an allowed origin, `Access-Control-Allow-Origin`
 *   and `Access-Control-Expose-Headers` — error responses included, so a browser can read a 401 or 429.
 * - Credentials (cookies) are never allowed: the API authenticates with a bearer key, which a script
 *   sends explicitly, so `*` stays safe.
 */
import type { MiddlewareHandler } from 'hono';
import { loadEdgeConfig, type AllowedOrigins, type EdgeVars } from '../env';
import { ProblemError } from '../errors';

/** Response headers a browser script may read (the CORS default hides all but a few). */
export const CORS_EXPOSED_HEADERS = ['x-request-id', 'x-cache', 'RateLimit', 'RateLimit-Policy', 'Retry-After'] as const;

/**
 * Headers the OpenAI client (openai 6.x, a Stainless SDK) sends from a browser: its platform and retry
 * headers on every request, the organisation and project only when configured.
 */
export const OPENAI_CLIENT_HEADERS = [
  'X-Stainless-Arch',
  'X-Stainless-Lang',
  'X-Stainless-OS',
  'X-Stainless-Package-Version',
  'X-Stainless-Retry-Count',
  'X-Stainless-Runtime',
  'X-Stainless-Runtime-Version',
  'X-Stainless-Timeout',
  'OpenAI-Organization',
  'OpenAI-Project',
] as const;

/**
 * Headers the Hugging Face client (@huggingface/inference 4.x) sends: `User-Agent` (browsers that let
 * a script set it ask for it in the preflight) and the billing header when configured.
 */
export const HF_CLIENT_HEADERS = ['User-Agent', 'X-HF-Bill-To'] as const;

/**
 * Request headers a browser script may send: the key, JSON bodies, a raw image body's SHA-256
 * (`Content-Digest`, which the SDK sends), a correlation id, the SDK's retry count, and what the OpenAI
 * and Hugging Face clients add.
 */
export const CORS_ALLOWED_HEADERS = [
  'Authorization',
  'Content-Type',
  'Content-Digest',
  'X-Request-Id',
  'X-Retry-Count',
  'X-Coyo-Client',
  ...OPENAI_CLIENT_HEADERS,
  ...HF_CLIENT_HEADERS,
] as const;

/** Methods the API serves. */
export const CORS_ALLOWED_METHODS = ['GET', 'HEAD', 'POST'] as const;

export interface CorsOptions {
  /** How long a browser may cache a preflight answer, in seconds (7200: Chromium's cap). */
  maxAgeSeconds?: number;
}

/** The vars of an app run without bindings (defaults apply). */
const NO_VARS: EdgeVars = {};

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
export function cors({ maxAgeSeconds = 7200 }: CorsOptions = {}): MiddlewareHandler<{ Bindings: EdgeVars }> {
  const exposed = CORS_EXPOSED_HEADERS.join(', ');
  const allowHeaders = CORS_ALLOWED_HEADERS.join(', ');
  const allowMethods = CORS_ALLOWED_METHODS.join(', ');
  return async function cors(c, next) {
    // `app.request()` without bindings (tests) leaves c.env undefined: the defaults apply.
    const vars = c.env as EdgeVars | undefined;
    const allowed = loadEdgeConfig(vars ?? NO_VARS).allowedOrigins;
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

import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { ProblemError } from '../errors';
import { hasScope, lookupApiKey, type ApiKeyScope, type ApiKeyStore } from '../services/api-keys';

export interface AuthOptions {
  /** Paths answered without a key (exact, or a prefix when ending in `/*`). */
  publicPaths?: readonly string[];
  /** The scope a path requires; `null` lets any valid key through. */
  scopeFor?: (path: string) => ApiKeyScope | null;
  /** Where keys are stored (default: the `API_KEYS` binding). */
  store?: (c: Context<AppEnv>) => ApiKeyStore;
  /** Seconds an edge location may cache a key's record (default 60: a disabled key stops within a minute). */
  cacheTtl?: number;
  /** `realm` of the `WWW-Authenticate` challenge. */
  realm?: string;
}

/**
 * Paths under the middleware's mount that need no key: none by default. The app mounts it on `/v1/*`,
 * so health, the spec and the pages (static assets) are public by sitting outside it.
 */
export const DEFAULT_PUBLIC_PATHS: readonly string[] = [];

/** `/v1/coyo/*` needs `coyo`; every other `/v1/*` route, and the Hugging Face-style `/hf/*`, needs `inference`. */
export function defaultScopeFor(path: string): ApiKeyScope | null {
  if (path === '/v1/coyo' || path.startsWith('/v1/coyo/')) return 'coyo';
  if (path === '/v1' || path.startsWith('/v1/') || path.startsWith('/hf/')) return 'inference';
  return null;
}

function isPublic(path: string, publicPaths: readonly string[]): boolean {
  return publicPaths.some((p) => (p.endsWith('/*') ? path === p.slice(0, -2) || path.startsWith(p.slice(0, -1)) : path === p));
}

/** Extracts the token of an `Authorization: Bearer <token>` header (scheme case-insensitive). */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined) return null;
  const match = /^Bearer[ ]+([^\s]+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * API-key authentication (RFC 6750 bearer tokens): 401 with a `WWW-Authenticate` challenge for a
 * missing, malformed or unknown key; 403 for a disabled key or one without the route's scope. The
 * key's record is put on the context as `apiKey` for the rate limiter and the routes.
 */
export function auth({
  publicPaths = DEFAULT_PUBLIC_PATHS,
  scopeFor = defaultScopeFor,
  store = (c) => c.env.API_KEYS,
  cacheTtl = 60,
  realm = 'coyo-edge',
}: AuthOptions = {}): MiddlewareHandler<AppEnv> {
  return async function authMiddleware(c, next) {
    const path = c.req.path;
    // Preflights carry no credentials by design; CORS answers them.
    if (c.req.method === 'OPTIONS' || isPublic(path, publicPaths)) return next();
    const token = bearerToken(c.req.header('authorization'));
    if (token === null) {
      throw new ProblemError('unauthorized', 'an API key is required: send Authorization: Bearer <key>', {
        headers: { 'www-authenticate': `Bearer realm="${realm}"` },
      });
    }
    const found = await lookupApiKey(store(c), token, { cacheTtl });
    if (found.status !== 'found') {
      throw new ProblemError('unauthorized', found.status === 'malformed' ? 'the API key is malformed' : 'the API key is not valid', {
        headers: { 'www-authenticate': `Bearer realm="${realm}", error="invalid_token"` },
      });
    }
    const { record } = found;
    if (record.disabled) throw new ProblemError('forbidden', `API key ${record.id} is disabled`);
    const scope = scopeFor(path);
    if (scope !== null && !hasScope(record, scope)) {
      throw new ProblemError('forbidden', `API key ${record.id} lacks the "${scope}" scope this route needs`, {
        headers: { 'www-authenticate': `Bearer realm="${realm}", error="insufficient_scope", scope="${scope}"` },
      });
    }
    c.set('apiKey', record);
    return next();
  };
}

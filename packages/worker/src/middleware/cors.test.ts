import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEdgeConfig } from '../env';
import { handleError, ProblemError } from '../errors';
import { cors, CORS_EXPOSED_HEADERS } from './cors';
import { rateLimit, type RateLimitSubject } from './rate-limit';

const APP_ORIGIN = 'https://app.example.com';

/** request-id → cors → a stand-in auth that wants `Bearer good` → rateLimit (always refusing) → routes. */
function appWith() {
  let downstreamCalls = 0;
  const app = new Hono<{ Variables: { apiKey?: RateLimitSubject } }>();
  app.onError(handleError);
  app.use(requestId());
  app.use(cors());
  app.use(async (c, next) => {
    downstreamCalls += 1;
    const auth = c.req.header('authorization');
    if (auth === 'Bearer limited') c.set('apiKey', { id: 'coyo_limited', tier: 'standard' });
    else if (auth !== 'Bearer good') throw new ProblemError('unauthorized', 'missing or unknown API key', { headers: { 'www-authenticate': 'Bearer' } });
    await next();
  });
  app.use(rateLimit());
  app.get('/v1/thing', (c) => c.json({ ok: true }, 200, { 'x-cache': 'hit' }));
  app.post('/v1/thing', (c) => c.json({ ok: true }));
  return { app, downstreamCalls: () => downstreamCalls };
}

const refusing: RateLimit = { limit: () => Promise.resolve({ success: false }) };
const envWith = (ALLOWED_ORIGINS?: string) => ({ ALLOWED_ORIGINS, RATE_LIMIT_STANDARD: refusing, RATE_LIMIT_HIGH: refusing });

function preflight(origin: string, requestHeaders = 'authorization, content-type') {
  return new Request('http://edge.test/v1/thing', {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': requestHeaders },
  });
}

describe('cors preflight', () => {
  it('answers an allowed origin with 204, the API methods, the key and JSON headers, and a max age', async () => {
    const { app } = appWith();
    const res = await app.request(preflight(APP_ORIGIN), {}, envWith(`${APP_ORIGIN}, http://localhost:5173`));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(res.headers.get('access-control-allow-methods')).toBe('GET, HEAD, POST');
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(['authorization', 'content-type']));
    expect(res.headers.get('access-control-max-age')).toBe('7200');
    expect(res.headers.get('vary')).toContain('Origin');
    expect(res.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('lets through the Content-Digest the SDK sends with a raw image body', async () => {
    const { app } = appWith();
    const res = await app.request(preflight(APP_ORIGIN, 'authorization, content-type, content-digest'), {}, envWith(APP_ORIGIN));
    expect(res.status).toBe(204);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(allowed).toContain('content-digest');
  });

  it('lets through every header the OpenAI and Hugging Face clients send from a browser', async () => {
    const { app } = appWith();
    const sent = [
      'authorization',
      'content-type',
      'x-stainless-arch',
      'x-stainless-lang',
      'x-stainless-os',
      'x-stainless-package-version',
      'x-stainless-retry-count',
      'x-stainless-runtime',
      'x-stainless-runtime-version',
      'x-stainless-timeout',
      'user-agent',
    ];
    const res = await app.request(preflight(APP_ORIGIN, sent.join(', ')), {}, envWith('*'));
    expect(res.status).toBe(204);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(sent));
  });

  it('is answered before auth, so a browser needs no key to ask', async () => {
    const { app, downstreamCalls } = appWith();
    const res = await app.request(preflight(APP_ORIGIN), {}, envWith('*'));
    expect(res.status).toBe(204);
    expect(downstreamCalls()).toBe(0);
  });

  it('refuses an origin outside ALLOWED_ORIGINS with a 403 problem', async () => {
    const { app } = appWith();
    const res = await app.request(preflight('https://evil.example'), {}, envWith(APP_ORIGIN));
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const body = await res.json<{ type: string; detail: string }>();
    expect(body.type).toBe('https://coyo-edge.dev/problems/forbidden');
    expect(body.detail).toContain('https://evil.example');
  });

  it('answers any origin with a wildcard when ALLOWED_ORIGINS is *', async () => {
    const { app } = appWith();
    const res = await app.request(preflight('http://127.0.0.1:3000'), {}, envWith('*'));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('treats an absent ALLOWED_ORIGINS as *', async () => {
    const { app } = appWith();
    const res = await app.request(preflight('http://127.0.0.1:3000'), {}, envWith(undefined));
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('passes a bare OPTIONS without preflight headers on to the app', async () => {
    const { app, downstreamCalls } = appWith();
    const res = await app.request('/v1/thing', { method: 'OPTIONS' }, envWith('*'));
    expect(downstreamCalls()).toBe(1);
    expect(res.status).toBe(401);
  });
});

describe('cors on actual requests', () => {
  it('lets an allowed origin read the response and its request id, cache and rate-limit headers', async () => {
    const { app } = appWith();
    const res = await app.request('/v1/thing', { headers: { origin: APP_ORIGIN, authorization: 'Bearer good' } }, envWith(APP_ORIGIN));
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    const exposed = (res.headers.get('access-control-expose-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    expect(exposed).toEqual(['x-request-id', 'x-cache', 'ratelimit', 'ratelimit-policy', 'retry-after']);
    expect(CORS_EXPOSED_HEADERS.map((h) => h.toLowerCase())).toEqual(exposed);
    expect(res.headers.get('vary')).toBe('Origin');
  });

  it('sends Vary: Origin even without an Origin header, so shared caches keep answers apart', async () => {
    const { app } = appWith();
    const res = await app.request('/v1/thing', { headers: { authorization: 'Bearer good' } }, envWith(APP_ORIGIN));
    expect(res.status).toBe(200);
    expect(res.headers.get('vary')).toBe('Origin');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('serves a request from another origin but without CORS headers, so the browser hides it', async () => {
    const { app } = appWith();
    const res = await app.request('/v1/thing', { headers: { origin: 'https://evil.example', authorization: 'Bearer good' } }, envWith(APP_ORIGIN));
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('access-control-expose-headers')).toBeNull();
  });

  it('adds CORS headers to a 401 from auth, so a browser can show why', async () => {
    const { app } = appWith();
    const res = await app.request('/v1/thing', { headers: { origin: APP_ORIGIN } }, envWith(APP_ORIGIN));
    expect(res.status).toBe(401);
    expect(res.headers.get('access-control-allow-origin')).toBe(APP_ORIGIN);
    expect(res.headers.get('vary')).toBe('Origin');
  });

  it('adds CORS headers to a 429, so a browser can read Retry-After and RateLimit', async () => {
    const { app } = appWith();
    const res = await app.request('/v1/thing', { headers: { origin: APP_ORIGIN, authorization: 'Bearer limited' } }, envWith('*'));
    expect(res.status).toBe(429);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('access-control-expose-headers')).toContain('Retry-After');
    expect(res.headers.get('retry-after')).not.toBeNull();
  });

  it('does not repeat Origin in a Vary header a route already set', async () => {
    const app = new Hono();
    app.use(cors());
    app.get('/', (c) => c.text('x', 200, { vary: 'Accept, Origin' }));
    const res = await app.request('/', { headers: { origin: APP_ORIGIN } }, { ALLOWED_ORIGINS: '*' });
    expect(res.headers.get('vary')).toBe('Accept, Origin');
  });
});

const parseAllowedOrigins = (raw: string) => loadEdgeConfig({ ALLOWED_ORIGINS: raw }).allowedOrigins;

describe('ALLOWED_ORIGINS', () => {
  it('normalises each origin the way browsers serialise Origin', () => {
    const parsed = parseAllowedOrigins(' HTTPS://App.Example.com:443/ ,http://localhost:5173');
    expect(parsed).toEqual({ any: false, origins: new Set(['https://app.example.com', 'http://localhost:5173']) });
  });

  it('allows no origin when the list is empty', () => {
    expect(parseAllowedOrigins('')).toEqual({ any: false, origins: new Set() });
  });

  it.each([
    ['https://app.example.com/path', 'no path'],
    ['ftp://files.example.com', 'http(s)'],
    ['app.example.com', 'not a URL'],
    ['*, https://app.example.com', 'cannot be combined'],
    ['https://user:pw@app.example.com', 'no path'],
  ])('rejects %j with a configuration error naming ALLOWED_ORIGINS', (raw, reason) => {
    expect(() => parseAllowedOrigins(raw)).toThrow(ConfigError);
    expect(() => parseAllowedOrigins(raw)).toThrow(/ALLOWED_ORIGINS/);
    expect(() => parseAllowedOrigins(raw)).toThrow(reason);
  });

  it('fails requests with 500 when ALLOWED_ORIGINS is malformed rather than silently blocking browsers', async () => {
    const { app } = appWith();
    const res = await app.request('/v1/thing', { headers: { authorization: 'Bearer good' } }, envWith('not an origin'));
    expect(res.status).toBe(500);
  });
});

import { env } from 'cloudflare:workers';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { describe, expect, it } from 'vitest';
import { handleError, ProblemError } from '../errors';
import { loadEdgeConfig, type RateLimitBindings } from '../env';
import { rateLimit, secondsUntilWindowEnd, type RateLimitOptions, type RateLimitSubject } from './rate-limit';

/** The policies the deployed configuration advertises (wrangler.toml's vars, else the defaults). */
const RATE_LIMIT_POLICIES = loadEdgeConfig(env).rateLimitPolicies;

/** The real binding from wrangler.toml, checked at runtime rather than cast. */
function binding(name: keyof RateLimitBindings): RateLimit {
  const value: unknown = (env as unknown as Record<string, unknown>)[name];
  if (typeof value !== 'object' || value === null || typeof (value as { limit?: unknown }).limit !== 'function') {
    throw new Error(`${name} is not a rate-limit binding in this test environment`);
  }
  return value as RateLimit;
}

const realBindings = (): RateLimitBindings => ({
  RATE_LIMIT_STANDARD: binding('RATE_LIMIT_STANDARD'),
  RATE_LIMIT_HIGH: binding('RATE_LIMIT_HIGH'),
});

let keyCounter = 0;
/** A key id no other test uses, so the real limiter's counters start at zero. */
function freshSubject(tier: RateLimitSubject['tier']): RateLimitSubject {
  keyCounter += 1;
  return { id: `coyo_t${Date.now().toString(36)}${keyCounter}`, tier };
}

/** A small app: request id → (stand-in for auth: sets c.var.apiKey) → rateLimit → one route. */
function appFor(subject: RateLimitSubject | undefined, options?: RateLimitOptions) {
  const app = new Hono<{ Variables: { apiKey?: RateLimitSubject } }>();
  app.onError(handleError);
  app.use(requestId());
  app.use(async (c, next) => {
    if (subject) c.set('apiKey', subject);
    await next();
  });
  app.use(rateLimit(options));
  app.get('/ok', (c) => c.json({ ok: true }));
  app.get('/fails', () => {
    throw new ProblemError('invalid_request', 'bad input');
  });
  return app;
}

/** Fake limiters for the cases the real one cannot be driven into on demand. */
function fakeLimiter(answer: () => Promise<RateLimitOutcome>) {
  let calls = 0;
  const limiter: RateLimit = {
    limit: () => {
      calls += 1;
      return answer();
    },
  };
  return { limiter, calls: () => calls };
}

/**
 * Runs `body` until it completes inside one window of the real limiter: the local limiter resets its
 * counters at every multiple of the period, and a reset in the middle would let an extra request in.
 */
async function inOneWindow(periodSeconds: number, body: () => Promise<void>): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const before = Math.floor(Date.now() / (periodSeconds * 1000));
    try {
      await body();
      return;
    } catch (error) {
      if (Math.floor(Date.now() / (periodSeconds * 1000)) === before) throw error;
    }
  }
  throw new Error('three attempts each crossed a rate-limit window boundary');
}

async function exhaust(app: ReturnType<typeof appFor>, bindings: RateLimitBindings, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await app.request('/ok', {}, bindings);
    if (res.status !== 200) throw new Error(`request ${i + 1} of ${count} answered ${res.status}`);
  }
}

describe('secondsUntilWindowEnd', () => {
  it('counts whole seconds to the end of the clock-aligned window, rounding up', () => {
    expect(secondsUntilWindowEnd(120_000 + 42_250, 60)).toBe(18);
    expect(secondsUntilWindowEnd(239_999, 60)).toBe(1);
    expect(secondsUntilWindowEnd(7_500, 10)).toBe(3);
  });

  it('gives a full period exactly on a window boundary', () => {
    expect(secondsUntilWindowEnd(180_000, 60)).toBe(60);
  });
});

describe('rateLimit', () => {
  it('lets a request through and advertises the tier policy without inventing a remaining count', async () => {
    const res = await appFor(freshSubject('standard')).request('/ok', {}, realBindings());
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-policy')).toBe('"standard";q=60;w=60');
    expect(res.headers.get('ratelimit')).toBeNull();
  });

  it('refuses the request after the standard quota with a 429 rate_limited problem and Retry-After', async () => {
    const { limit, period } = RATE_LIMIT_POLICIES.standard;
    await inOneWindow(period, async () => {
      const app = appFor(freshSubject('standard'));
      const bindings = realBindings();
      await exhaust(app, bindings, limit);
      const res = await app.request('/ok', { headers: { 'x-request-id': 'rl-test-1' } }, bindings);
      expect(res.status).toBe(429);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const body = await res.json<{ type: string; status: number; request_id: string; detail: string }>();
      expect(body.type).toBe('https://coyo-edge.dev/problems/rate_limited');
      expect(body.status).toBe(429);
      expect(body.request_id).toBe('rl-test-1');
      const retryAfter = Number(res.headers.get('retry-after'));
      expect(Number.isInteger(retryAfter)).toBe(true);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(period);
      expect(res.headers.get('ratelimit')).toBe(`"standard";r=0;t=${retryAfter}`);
      expect(res.headers.get('ratelimit-policy')).toBe('"standard";q=60;w=60');
    });
  });

  it('enforces exactly the advertised quota of the high tier through its own binding', async () => {
    const { limit, period } = RATE_LIMIT_POLICIES.high;
    await inOneWindow(period, async () => {
      const app = appFor(freshSubject('high'));
      const bindings = realBindings();
      await exhaust(app, bindings, limit);
      const res = await app.request('/ok', {}, bindings);
      expect(res.status).toBe(429);
      expect(res.headers.get('ratelimit-policy')).toBe(`"high";q=${limit};w=${period}`);
    });
  });

  it('counts each key separately', async () => {
    const { limit, period } = RATE_LIMIT_POLICIES.standard;
    await inOneWindow(period, async () => {
      const bindings = realBindings();
      const busy = appFor(freshSubject('standard'));
      await exhaust(busy, bindings, limit);
      expect((await busy.request('/ok', {}, bindings)).status).toBe(429);
      expect((await appFor(freshSubject('standard')).request('/ok', {}, bindings)).status).toBe(200);
    });
  });

  it('does not count requests that carry no authenticated key', async () => {
    const fake = fakeLimiter(() => Promise.resolve({ success: false }));
    const res = await appFor(undefined).request('/ok', {}, { RATE_LIMIT_STANDARD: fake.limiter, RATE_LIMIT_HIGH: fake.limiter });
    expect(res.status).toBe(200);
    expect(fake.calls()).toBe(0);
    expect(res.headers.get('ratelimit-policy')).toBeNull();
  });

  it('adds RateLimit-Policy to error responses of later handlers', async () => {
    const res = await appFor(freshSubject('high')).request('/fails', {}, realBindings());
    expect(res.status).toBe(400);
    expect(res.headers.get('ratelimit-policy')).toBe('"high";q=600;w=60');
  });

  it('puts the time to the end of the current window in Retry-After and the RateLimit t parameter', async () => {
    const fake = fakeLimiter(() => Promise.resolve({ success: false }));
    const app = appFor(freshSubject('standard'), { now: () => 1_800_000_000_000 + 42_250 });
    const res = await app.request('/ok', {}, { RATE_LIMIT_STANDARD: fake.limiter, RATE_LIMIT_HIGH: fake.limiter });
    // 1_800_000_000_000 is a multiple of 60 s, so 42.25 s of the window are gone and 17.75 s are left.
    expect(res.headers.get('retry-after')).toBe('18');
    expect(res.headers.get('ratelimit')).toBe('"standard";r=0;t=18');
  });

  it('lets the request through when the limiter itself fails', async () => {
    const fake = fakeLimiter(() => Promise.reject(new Error('limiter unavailable')));
    const res = await appFor(freshSubject('standard')).request('/ok', {}, { RATE_LIMIT_STANDARD: fake.limiter, RATE_LIMIT_HIGH: fake.limiter });
    expect(res.status).toBe(200);
    expect(fake.calls()).toBe(1);
  });

  it('answers 500 instead of serving unlimited when the tier binding is missing', async () => {
    const res = await appFor(freshSubject('high')).request('/ok', {}, { RATE_LIMIT_STANDARD: binding('RATE_LIMIT_STANDARD') });
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
  });
});

import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendCalls, backendUrl, postJson, problemOf, routedFetch, seedApiKey, testApp } from '../../test/helpers';
import { AdmissionLimiter, chargedBodyBytes } from './admission';

const MiB = 1024 * 1024;
const LIMITS = { maxInFlight: 2, maxBodyBytes: 10 * MiB };

describe('AdmissionLimiter', () => {
  it('admits up to maxInFlight requests, then refuses and counts the refusal', () => {
    const limiter = new AdmissionLimiter();
    const a = limiter.tryAcquire(100, LIMITS);
    const b = limiter.tryAcquire(100, LIMITS);
    const c = limiter.tryAcquire(100, LIMITS);
    expect(a.admitted && b.admitted).toBe(true);
    expect(c).toMatchObject({ admitted: false, reason: 'in_flight' });
    expect(limiter.stats).toEqual({ inFlight: 2, bodyBytes: 200, admitted: 2, refused: 1 });
  });

  it('admits again once a permit is released, and a second release changes nothing', () => {
    const limiter = new AdmissionLimiter();
    const a = limiter.tryAcquire(100, LIMITS);
    limiter.tryAcquire(100, LIMITS);
    if (!a.admitted) throw new Error('expected a permit');
    a.permit.release();
    a.permit.release();
    expect(limiter.stats).toMatchObject({ inFlight: 1, bodyBytes: 100 });
    expect(limiter.tryAcquire(100, LIMITS).admitted).toBe(true);
    expect(limiter.stats).toMatchObject({ inFlight: 2, bodyBytes: 200, admitted: 3, refused: 0 });
  });

  it('refuses a body that would pass maxBodyBytes while others hold bytes', () => {
    const limiter = new AdmissionLimiter();
    expect(limiter.tryAcquire(6 * MiB, LIMITS).admitted).toBe(true);
    expect(limiter.tryAcquire(5 * MiB, LIMITS)).toMatchObject({ admitted: false, reason: 'body_bytes' });
    expect(limiter.tryAcquire(4 * MiB, LIMITS).admitted).toBe(true);
    expect(limiter.stats).toEqual({ inFlight: 2, bodyBytes: 10 * MiB, admitted: 2, refused: 1 });
  });

  it('always admits a lone request, however large its body', () => {
    const limiter = new AdmissionLimiter();
    expect(limiter.tryAcquire(50 * MiB, LIMITS).admitted).toBe(true);
    expect(limiter.tryAcquire(1, LIMITS)).toMatchObject({ admitted: false, reason: 'body_bytes' });
  });

  it('refuseIfFull counts a refusal when full and takes no permit when there is room', () => {
    const limiter = new AdmissionLimiter();
    expect(limiter.refuseIfFull(100, LIMITS)).toBeUndefined();
    limiter.tryAcquire(100, LIMITS);
    limiter.tryAcquire(100, LIMITS);
    expect(limiter.refuseIfFull(100, LIMITS)).toMatchObject({ admitted: false, reason: 'in_flight' });
    expect(limiter.stats).toEqual({ inFlight: 2, bodyBytes: 200, admitted: 2, refused: 1 });
  });

  it('refuses to charge a negative or non-finite byte count (a bug in the caller)', () => {
    const limiter = new AdmissionLimiter();
    expect(() => limiter.tryAcquire(-1, LIMITS)).toThrow(/bug/);
    expect(() => limiter.tryAcquire(Number.NaN, LIMITS)).toThrow(/bug/);
  });
});

describe('chargedBodyBytes', () => {
  const post = (headers: Record<string, string>, body: string | null = 'x') => new Request('https://a.test/', { method: 'POST', headers, body });

  it('charges the declared Content-Length, capped at the request limit', () => {
    expect(chargedBodyBytes(post({ 'content-length': '1234' }), MiB)).toBe(1234);
    expect(chargedBodyBytes(post({ 'content-length': String(5 * MiB) }), MiB)).toBe(MiB);
  });

  it('charges the request limit for a body of unknown or malformed length, nothing for no body', () => {
    expect(chargedBodyBytes(post({}), MiB)).toBe(MiB);
    expect(chargedBodyBytes(post({ 'content-length': '12abc' }), MiB)).toBe(MiB);
    expect(chargedBodyBytes(new Request('https://a.test/', { method: 'POST' }), MiB)).toBe(0);
  });
});

describe('admission middleware', () => {
  let key: string;
  beforeAll(async () => {
    key = await seedApiKey(env, { scopes: ['inference'], tier: 'high' });
  });

  /** An app whose backend calls wait until `open()`; `called` resolves when the first one arrives. */
  function gatedApp(vars: Record<string, string>) {
    const tenant = crypto.randomUUID();
    let open!: () => void;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let arrived!: () => void;
    const called = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const request = new Request(input, init);
      if (new URL(request.url).pathname.includes('/v1/embed/')) {
        arrived();
        await gate;
      }
      return routedFetch(request);
    };
    const app = testApp(env, { env: { BACKEND_URL: backendUrl(tenant), ...vars }, deps: { fetch } });
    return { ...app, tenant, open, called };
  }

  const embed = (text: string, headers: Record<string, string> = {}) => postJson(key, { texts: [text] }, headers);

  it('refuses past ADMISSION_MAX_IN_FLIGHT with 503 overloaded and Retry-After, without calling the backend, and counts it', async () => {
    const { request, tenant, open, called } = gatedApp({ ADMISSION_MAX_IN_FLIGHT: '1' });
    const first = request('/v1/embeddings', embed(crypto.randomUUID()));
    await called;

    const refused = await request('/v1/embeddings', embed(crypto.randomUUID()));
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const problem = await problemOf(refused);
    expect(problem.type).toBe('https://coyo-edge.dev/problems/overloaded');
    expect(problem.detail).toMatch(/limit of 1 backend-bound requests in flight/);
    expect(problem.error).toMatchObject({ code: 'overloaded', type: 'server_error' });

    const health = await (await request('/healthz')).json<{ admission: Record<string, number> }>();
    expect(health.admission).toMatchObject({ in_flight: 1, max_in_flight: 1, admitted: 1, refused: 1 });

    open();
    expect((await first).status).toBe(200);
    expect(await backendCalls(tenant, '/v1/embed/text')).toBe(1);
    // The permit went back with the answer: the next request is served.
    expect((await request('/v1/embeddings', embed(crypto.randomUUID()))).status).toBe(200);
    const after = await (await request('/healthz')).json<{ admission: Record<string, number> }>();
    expect(after.admission).toMatchObject({ in_flight: 0, body_bytes: 0, admitted: 2, refused: 1 });
  });

  it('refuses a body whose Content-Length would pass ADMISSION_MAX_BODY_BYTES, before reading it', async () => {
    const { request, open, called } = gatedApp({ ADMISSION_MAX_BODY_BYTES: String(MiB) });
    const small = JSON.stringify({ texts: [crypto.randomUUID()] });
    const first = request('/v1/embeddings', { ...postJson(key, null, { 'content-length': String(small.length) }), body: small });
    await called;

    const big = JSON.stringify({ texts: ['x'.repeat(MiB)] });
    const init = postJson(key, null, { 'content-length': String(big.length) });
    const refused = await request('/v1/embeddings', { ...init, body: big });
    expect(refused.status).toBe(503);
    const problem = await problemOf(refused);
    expect(problem.type).toBe('https://coyo-edge.dev/problems/overloaded');
    expect(problem.detail).toBe(
      `this edge isolate holds ${small.length} bytes of request bodies; ${big.length} more would pass ADMISSION_MAX_BODY_BYTES (${MiB}); retry after 1 s`,
    );
    open();
    expect((await first).status).toBe(200);
  });

  it('refuses before auth while full (503, not 401), and lets an unauthenticated request hold no permit when there is room', async () => {
    const { request, open, called } = gatedApp({ ADMISSION_MAX_IN_FLIGHT: '1' });
    const first = request('/v1/embeddings', embed(crypto.randomUUID()));
    await called;
    const anonymous = { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['x'] }) };
    const refused = await request('/v1/embeddings', anonymous);
    expect(refused.status).toBe(503);
    expect((await problemOf(refused)).type).toBe('https://coyo-edge.dev/problems/overloaded');
    open();
    expect((await first).status).toBe(200);

    expect((await request('/v1/embeddings', anonymous)).status).toBe(401);
    const health = await (await request('/healthz')).json<{ admission: Record<string, number> }>();
    expect(health.admission).toMatchObject({ in_flight: 0, admitted: 1, refused: 1 });
  });

  it('reads the unread body of a refused request away, so the connection is not cut', async () => {
    const { app, env: appEnv, open, called, request } = gatedApp({ ADMISSION_MAX_IN_FLIGHT: '1' });
    const first = request('/v1/embeddings', embed(crypto.randomUUID()));
    await called;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        if (pulled > 4) controller.close();
        else controller.enqueue(new Uint8Array(64 * 1024));
      },
    });
    const refusedRequest = new Request('https://api.coyo-edge.test/v1/embeddings', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': String(4 * 64 * 1024) },
      body,
    });
    const ctx = createExecutionContext();
    const refused = await app.fetch(refusedRequest, appEnv, ctx);
    expect(refused.status).toBe(503);
    await waitOnExecutionContext(ctx);
    expect(refusedRequest.bodyUsed).toBe(true);
    expect(pulled).toBe(5);
    open();
    expect((await first).status).toBe(200);
  });

  it('releases the permit when the request fails', async () => {
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(crypto.randomUUID(), 'badjson'), ADMISSION_MAX_IN_FLIGHT: '1' } });
    for (let i = 0; i < 3; i++) expect((await request('/v1/embeddings', embed(crypto.randomUUID()))).status).toBe(502);
    const health = await (await request('/healthz')).json<{ admission: Record<string, number> }>();
    expect(health.admission).toMatchObject({ in_flight: 0, admitted: 3, refused: 0 });
  });

  it('leaves routes that do not call the backend alone', async () => {
    const { request, open, called } = gatedApp({ ADMISSION_MAX_IN_FLIGHT: '1' });
    const first = request('/v1/embeddings', embed(crypto.randomUUID()));
    await called;
    expect((await request('/v1/models', { headers: { authorization: `Bearer ${key}` } })).status).not.toBe(503);
    open();
    await first;
  });
});

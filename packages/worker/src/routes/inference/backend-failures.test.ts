import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { backendCalls, backendStats, backendUrl, postJson, problemOf, seedApiKey, setBackendDown, testApp, toBase64, uniquePng } from '../../../test/helpers';

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'], tier: 'high' });
});

/** A zero-shot request no cache can answer. */
function freshZeroShot(headers: Record<string, string> = {}) {
  return postJson(key, { image: { base64: toBase64(uniquePng()) }, labels: [`l ${crypto.randomUUID()}`] }, headers);
}

describe('backend failures', () => {
  it('answers 503 backend_unavailable with the request id when the backend is down', async () => {
    const { request } = testApp(env, { env: { BACKEND_URL: inject('deadOrigin') } });
    const res = await request('/v1/zero-shot', freshZeroShot({ 'x-request-id': 'client-id-1' }));
    expect(res.status).toBe(503);
    const problem = await problemOf(res);
    expect(problem.type).toBe('https://coyo-edge.dev/problems/backend_unavailable');
    expect(problem.request_id).toBe('client-id-1');
    expect(res.headers.get('x-request-id')).toBe('client-id-1');
    // Before any circuit has opened, the client is still told when to come back.
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('answers 504 backend_timeout when the backend is slower than the deadline, without hanging', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant, 'slow'), BACKEND_DEADLINE_MS: '300' } });
    const started = Date.now();
    const res = await request('/v1/zero-shot', freshZeroShot());
    expect(res.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(2500);
    const problem = await problemOf(res);
    expect(problem.type).toBe('https://coyo-edge.dev/problems/backend_timeout');
    expect(problem.request_id).toBe(res.headers.get('x-request-id'));
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Every call was told how much time was left, never more than the budget.
    const { deadlines } = await backendStats(tenant);
    expect(deadlines.every((d) => d > 0 && d <= 300)).toBe(true);
  });

  it('answers 503 when the backend fails with a 500', async () => {
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(crypto.randomUUID(), 'error') } });
    const res = await request('/v1/zero-shot', freshZeroShot());
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
    expect((await problemOf(res)).request_id).toBeTruthy();
  });

  it('answers 503 with Retry-After when the backend stays overloaded through the retries', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant, 'overloaded') }, deps: { sleep: async () => {} } });
    const res = await request('/v1/zero-shot', freshZeroShot());
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await problemOf(res)).detail).toMatch(/overloaded/);
    // The first attempt and BACKEND_MAX_RETRIES (2) more, then the answer.
    expect(await backendCalls(tenant)).toBe(3);
  });

  it('answers 502 backend_error when the backend breaks the protocol', async () => {
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(crypto.randomUUID(), 'badjson') } });
    const res = await request('/v1/similarity', postJson(key, { images: [{ base64: toBase64(uniquePng()) }], texts: [crypto.randomUUID()] }));
    expect(res.status).toBe(502);
    await problemOf(res);
  });

  it('rides out a 503 followed by success', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant, 'flaky') }, deps: { sleep: async () => {} } });
    const res = await request('/v1/zero-shot', freshZeroShot());
    expect(res.status).toBe(200);
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(2);
  });

  it('opens the circuit after repeated failures and fails fast without calling the backend', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant, 'error'), BACKEND_BREAKER_THRESHOLD: '2' } });
    await request('/v1/classify', postJson(key, { image: { base64: toBase64(uniquePng()) } }));
    await request('/v1/classify', postJson(key, { image: { base64: toBase64(uniquePng()) } }));
    const calls = await backendCalls(tenant);
    const res = await request('/v1/classify', postJson(key, { image: { base64: toBase64(uniquePng()) } }));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await problemOf(res)).detail).toMatch(/circuit open/);
    // Only the readiness check reached the backend, none of the inference routes.
    expect(await backendCalls(tenant)).toBe(calls + 1);
    expect(await backendCalls(tenant, '/readyz')).toBe(1);
  });

  it('serves again within BACKEND_BREAKER_PROBE_MAX_MS of the backend coming back, and /healthz shows the circuit', async () => {
    const tenant = crypto.randomUUID();
    let now = 1_000_000;
    const { request } = testApp(env, {
      env: { BACKEND_URL: backendUrl(tenant), BACKEND_BREAKER_THRESHOLD: '2', BACKEND_BREAKER_PROBE_MAX_MS: '500' },
      deps: { now: () => now, sleep: async () => {} },
    });
    const classify = () => request('/v1/classify', postJson(key, { image: { base64: toBase64(uniquePng()) } }));
    expect((await classify()).status).toBe(200);

    await setBackendDown(tenant, true);
    // A long outage: every answer a fast 503 with Retry-After, first before the circuit opens, then after.
    for (let i = 0; i < 20; i++) {
      const res = await classify();
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      now += 250;
    }
    const down = await (await request('/healthz')).json<{ backend: { circuit: string } }>();
    expect(down.backend.circuit).toBe('open');

    await setBackendDown(tenant, false);
    let waited = 0;
    let res = await classify();
    while (res.status === 503 && waited < 2000) {
      now += 100;
      waited += 100;
      res = await classify();
    }
    expect(res.status).toBe(200);
    expect(waited).toBeLessThanOrEqual(500);
    const up = await (await request('/healthz')).json<{ backend: { circuit: string } }>();
    expect(up.backend.circuit).toBe('closed');
  });

  it('carries the client’s request id to the backend and back', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) } });
    const res = await request('/v1/classify', postJson(key, { image: { base64: toBase64(uniquePng()) } }, { 'x-request-id': 'trace-abc.123' }));
    expect(res.headers.get('x-request-id')).toBe('trace-abc.123');
    expect((await backendStats(tenant)).requestIds).toEqual(['trace-abc.123']);
  });

  it('passes the backend’s own 4xx verdict on an image through', async () => {
    // The fake backend refuses the worker's token with 401; the client sees a 502, not a 401 of its own.
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(crypto.randomUUID()), BACKEND_TOKEN: 'wrong-token' } });
    const res = await request('/v1/classify', postJson(key, { image: { base64: toBase64(uniquePng()) } }));
    expect(res.status).toBe(502);
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/backend_error');
  });
});

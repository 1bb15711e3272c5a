import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { FAKE_REVISION } from '../../../test/fake-embeddings';
import { backendUrl, problemOf, seedApiKey, testApp } from '../../../test/helpers';
import type { HealthResponse, ModelsResponse } from '../../schemas/meta';

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'] });
});

describe('GET /v1/models', () => {
  it('lists the served models with dims, temperature and the test-model warning', async () => {
    const res = await exports.default.fetch('https://api.test/v1/models', { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const body = await res.json<ModelsResponse>();
    expect(body.data.find((m) => m.id === 'align-base')).toMatchObject({ embedding_dim: 640, temperature: 0.05, revision: FAKE_REVISION });
    expect(body.data.find((m) => m.id === 'vit-large-patch16-384')).toMatchObject({ num_labels: 1000 });
    expect(body.backend).toMatchObject({ test_models: true, warning: 'serving fake test models' });
  });

  it('answers 503 when the backend is down', async () => {
    const { request } = testApp(env, { env: { BACKEND_URL: inject('deadOrigin') } });
    const res = await request('/v1/models', { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(503);
    await problemOf(res);
  });
});

describe('GET /healthz', () => {
  it('reports ok with backend reachability', async () => {
    const res = await exports.default.fetch('https://api.test/healthz');
    const body = await res.json<HealthResponse>();
    expect(body).toMatchObject({ status: 'ok', backend: { status: 'ok', circuit: 'closed', test_models: true } });
  });

  it('stays 200 and reports degraded when the backend is unreachable', async () => {
    const { request } = testApp(env, { env: { BACKEND_URL: inject('deadOrigin') } });
    const res = await request('/healthz');
    expect(res.status).toBe(200);
    expect(await res.json<HealthResponse>()).toMatchObject({ status: 'degraded', backend: { status: 'unreachable' } });
  });

  it('answers within HEALTH_TIMEOUT_MS when the backend hangs', async () => {
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(crypto.randomUUID(), 'slow'), HEALTH_TIMEOUT_MS: '200' } });
    const started = Date.now();
    const res = await request('/healthz');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await res.json<HealthResponse>()).toMatchObject({ status: 'degraded', backend: { detail: 'no answer within 200 ms' } });
  });
});

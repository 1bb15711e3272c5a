import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectedZeroShot } from '../../../test/expected';
import { FAKE_REVISION } from '../../../test/fake-embeddings';
import { backendCalls, backendStats, backendUrl, postJson, problemOf, seedApiKey, setBackendRevision, testApp, toBase64, uniquePng } from '../../../test/helpers';
import { sha256Hex } from '../../services/encoding';
import { MODEL_INFO_KEY } from '../../services/model-info';

/** Weights an operator puts in place of the fake's default ones. */
const NEW_REVISION = 'a1b2c3d4e5f60718';
const TEMPLATE = 'This is a photo of {}.';

type Scores = { label: string; score: number }[];

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'], tier: 'high' });
});

function expectScores(actual: Scores, expected: Scores): void {
  expect(actual.map((s) => s.label)).toEqual(expected.map((s) => s.label));
  actual.forEach((s, i) => { expect(s.score).toBeCloseTo(expected[i]?.score ?? NaN, 6); });
}

/** An app on its own tenant, with a clock the test moves and no model info left in KV by another test. */
async function tenantApp() {
  await env.CACHE.delete(MODEL_INFO_KEY);
  const tenant = crypto.randomUUID();
  let now = Date.now();
  const app = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) }, deps: { now: () => now } });
  return { tenant, ...app, advance: (ms: number) => (now += ms) };
}

/** Labels no other test embeds, so KV shared between tests holds none of them. */
function uniqueLabels(...names: string[]): string[] {
  const suffix = crypto.randomUUID().slice(0, 8);
  return names.map((name) => `${name} ${suffix}`);
}

async function zeroShot(request: (path: string, init?: RequestInit) => Promise<Response>, png: Uint8Array, labels: string[]): Promise<Response> {
  return request('/v1/zero-shot', postJson(key, { image: { base64: toBase64(png) }, labels }));
}

describe('embeddings across a change of model weights', () => {
  it('does not reuse the old weights’ cached embeddings once the model info is refreshed', async () => {
    const { tenant, request, advance } = await tenantApp();
    const png = uniquePng();
    const labels = uniqueLabels('cat', 'dog');
    expect((await zeroShot(request, png, labels)).status).toBe(200);
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(1);

    await setBackendRevision(tenant, NEW_REVISION);
    // The model info expires: in the isolate by its TTL, in KV by its own expiry.
    advance(301_000);
    await env.CACHE.delete(MODEL_INFO_KEY);
    const res = await zeroShot(request, png, labels);

    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('miss');
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(2);
    expect(await backendCalls(tenant, '/v1/embed/text')).toBe(2);
    expectScores(await res.json<Scores>(), await expectedZeroShot(png, labels, TEMPLATE, NEW_REVISION));
  });

  it('recomputes a request whose backend answer shows new weights, so it never mixes two weight sets', async () => {
    const { tenant, request } = await tenantApp();
    const png = uniquePng();
    const labels = uniqueLabels('cat', 'dog', 'bird');
    expect((await zeroShot(request, png, labels.slice(0, 2))).status).toBe(200);

    await setBackendRevision(tenant, NEW_REVISION);
    // The image and two labels are cached under the old weights; the bird is not, so the backend is asked.
    const res = await zeroShot(request, png, labels);

    expect(res.status).toBe(200);
    const body = await res.json<Scores>();
    expectScores(body, await expectedZeroShot(png, labels, TEMPLATE, NEW_REVISION));
    expect(body.map((s) => s.score)).not.toEqual((await expectedZeroShot(png, labels, TEMPLATE, FAKE_REVISION)).map((s) => s.score));
    const stats = await backendStats(tenant);
    expect(stats.calls['/v1/models']).toBe(2);
    expect(stats.calls['/v1/embed/image']).toBe(2);
    // 2 texts at first, the bird seen under the new weights, then all 3 again under them.
    expect(stats.texts).toBe(6);
  });

  it('stores the refreshed model info in KV once a change is seen', async () => {
    const { tenant, request } = await tenantApp();
    expect((await zeroShot(request, uniquePng(), ['cat'])).status).toBe(200);
    await setBackendRevision(tenant, NEW_REVISION);
    expect((await zeroShot(request, uniquePng(), ['cat'])).status).toBe(200);
    const stored = JSON.parse((await env.CACHE.get(MODEL_INFO_KEY, 'text')) ?? '{}') as { info?: { models?: { id: string; revision?: string }[] } };
    expect(stored.info?.models?.find((m) => m.id === 'align-base')?.revision).toBe(NEW_REVISION);
  });

  it('answers 503 and caches nothing when the weights differ again after the refresh', async () => {
    const { tenant, request } = await tenantApp();
    const listed = 'ffffffffffffffff';
    await setBackendRevision(tenant, NEW_REVISION, listed);
    const [zebra = 'zebra'] = uniqueLabels('zebra');
    const res = await zeroShot(request, uniquePng(), [zebra]);

    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/backend_unavailable');
    expect(await backendCalls(tenant, '/v1/models')).toBe(2);
    const text = await sha256Hex(TEMPLATE.replace('{}', zebra));
    expect(await env.CACHE.get(`emb:v2:align-base:${listed}:txt:${text}`)).toBeNull();
    expect(await env.CACHE.get(`emb:v2:align-base:${NEW_REVISION}:txt:${text}`)).toBeNull();
  });
});

describe('an older backend without revisions', () => {
  it('still answers and caches embeddings under the test/real key', async () => {
    const { tenant, request } = await tenantApp();
    await setBackendRevision(tenant, null);
    const png = uniquePng();
    const labels = uniqueLabels('cat', 'dog');
    const first = await zeroShot(request, png, labels);
    expect(first.status).toBe(200);
    expectScores(await first.json<Scores>(), await expectedZeroShot(png, labels));
    const again = await zeroShot(request, png, labels);
    expect(again.headers.get('x-cache')).toBe('hit');
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(1);
    expect(await env.CACHE.get(`emb:v2:align-base:test:img:${await sha256Hex(png)}`, 'arrayBuffer')).not.toBeNull();
  });
});

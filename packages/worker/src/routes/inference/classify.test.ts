import { env, exports } from 'cloudflare:workers';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FAKE_REVISION, FAKE_VIT_ID, fakeClassify } from '../../../test/fake-embeddings';
import { backendCalls, backendStats, backendUrl, postJson, problemOf, seedApiKey, setBackendRevision, testApp, toBase64, uniquePng } from '../../../test/helpers';
import { classificationKey, CLASSIFY_CACHE_MIN_DEPTH, CLASSIFY_MAX_TOP_K } from '../../services/classification-cache';
import { sha256Hex } from '../../services/encoding';
import { MODEL_INFO_KEY } from '../../services/model-info';

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'] });
});

type Scores = { label: string; score: number }[];
const strip = (list: { label: string; score: number }[]) => list.map(({ label, score }) => ({ label, score }));

describe('POST /v1/classify', () => {
  it('returns the top 5 classes by default, best first', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch('https://api.test/v1/classify', postJson(key, { image: { base64: toBase64(png) } }));
    expect(res.status).toBe(200);
    expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, 5)));
  });

  it('honours top_k', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch('https://api.test/v1/classify', postJson(key, { image: { base64: toBase64(png) }, top_k: 2 }));
    expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, 2)));
  });

  it('answers one list per image for images: [...]', async () => {
    const a = uniquePng();
    const b = uniquePng();
    const res = await exports.default.fetch('https://api.test/v1/classify', postJson(key, { images: [{ base64: toBase64(a) }, { base64: toBase64(b) }], top_k: 3 }));
    expect(await res.json<Scores[]>()).toEqual([strip(await fakeClassify(a, 3)), strip(await fakeClassify(b, 3))]);
  });

  it('accepts a raw image with top_k in the query', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch('https://api.test/v1/classify?top_k=1', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, body: png });
    expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, 1)));
  });

  it('accepts multipart parts', async () => {
    const png = uniquePng();
    const form = new FormData();
    form.append('image', new Blob([png], { type: 'image/png' }), 'x.png');
    form.append('top_k', '4');
    const res = await exports.default.fetch('https://api.test/v1/classify', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, 4)));
  });

  it("takes a multipart request's top_k from the query when the form has none", async () => {
    const png = uniquePng();
    const form = new FormData();
    form.append('image', new Blob([png], { type: 'image/png' }), 'x.png');
    const res = await exports.default.fetch('https://api.test/v1/classify?top_k=2', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, 2)));
  });

  it('refuses malformed JSON with 400 invalid_request', async () => {
    const res = await exports.default.fetch('https://api.test/v1/classify', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{"image": ',
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/invalid_request');
  });

  it.each([0, 1001, 2.5])('refuses top_k %s with 400', async (topK) => {
    const res = await exports.default.fetch('https://api.test/v1/classify', postJson(key, { image: { base64: toBase64(uniquePng()) }, top_k: topK }));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]?.path).toBe('top_k');
  });

  it('refuses a query top_k that is not a number', async () => {
    const res = await exports.default.fetch('https://api.test/v1/classify?top_k=lots', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, body: uniquePng() });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]).toMatchObject({ in: 'query', path: 'top_k' });
  });

  it('refuses a multipart body without image parts', async () => {
    const form = new FormData();
    form.append('top_k', '3');
    const res = await exports.default.fetch('https://api.test/v1/classify', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]?.path).toBe('image');
  });
});

/** Weights an operator puts in place of the fake's default ones. */
const NEW_REVISION = 'a1b2c3d4e5f60718';

/**
 * An app on its own backend tenant (so call counts are its own), with a clock the test moves and no
 * model info left in KV by another test.
 */
async function tenantApp() {
  await env.CACHE.delete(MODEL_INFO_KEY);
  const tenant = crypto.randomUUID();
  let now = Date.now();
  const app = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) }, deps: { now: () => now } });
  const classify = (body: unknown) => app.request('/v1/classify', postJson(key, body));
  return { tenant, ...app, classify, advance: (ms: number) => (now += ms) };
}

/**
 * Makes sure the label table of the served weights names every class (a fresh table is filled by one
 * answer of every class), so the calls a test counts after it are ordinary misses.
 */
async function warmLabels(classify: (body: unknown) => Promise<Response>): Promise<void> {
  const res = await classify(one(uniquePng(), 1));
  if (res.status !== 200) throw new Error(`test setup: warming the label table answered ${res.status}`);
}

/** The top_k of each classify call the tenant's backend saw since `from` calls. */
async function topKsSince(tenant: string, from: number): Promise<number[]> {
  return (await backendStats(tenant)).classifyTopKs.slice(from);
}

const one = (png: Uint8Array, topK?: number) => ({ image: { base64: toBase64(png) }, ...(topK === undefined ? {} : { top_k: topK }) });
const many = (pngs: Uint8Array[], topK?: number) => ({ images: pngs.map((p) => ({ base64: toBase64(p) })), ...(topK === undefined ? {} : { top_k: topK }) });

describe('POST /v1/classify edge cache', () => {
  // A test that switches weights leaves their model info in KV; the next test must not start from it.
  afterEach(() => env.CACHE.delete(MODEL_INFO_KEY));

  it('answers a repeated request identically without calling the backend', async () => {
    const { tenant, classify } = await tenantApp();
    const png = uniquePng();
    const first = await classify(one(png, 3));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('miss');
    const firstBody = await first.json<Scores>();
    expect(firstBody).toEqual(strip(await fakeClassify(png, 3)));
    const calls = await backendCalls(tenant);

    const second = await classify(one(png, 3));
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(await second.json<Scores>()).toEqual(firstBody);
    expect(await backendCalls(tenant)).toBe(calls);
  });

  it('serves top_k 1 then 5 from one backend call, computes 250 again, then serves both from the deeper entry', async () => {
    const app = await tenantApp();
    await warmLabels(app.classify);
    const before = (await backendStats(app.tenant)).classifyTopKs.length;
    const png = uniquePng();
    const statuses: (string | null)[] = [];
    for (const topK of [1, 5, 250, 5, 250]) {
      const res = await app.classify(one(png, topK));
      statuses.push(res.headers.get('x-cache'));
      expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, topK)));
    }
    expect(statuses).toEqual(['miss', 'hit', 'miss', 'hit', 'hit']);
    expect(await topKsSince(app.tenant, before)).toEqual([CLASSIFY_CACHE_MIN_DEPTH, 250]);
  });

  it('asks the backend for every class once to fill the label table of new weights, then for the minimum depth', async () => {
    const app = await tenantApp();
    await setBackendRevision(app.tenant, crypto.randomUUID().replaceAll('-', '').slice(0, 16));
    const first = uniquePng();
    const second = uniquePng();
    expect(await (await app.classify(one(first, 3))).json<Scores>()).toEqual(strip(await fakeClassify(first, 3)));
    expect(await (await app.classify(one(second, 3))).json<Scores>()).toEqual(strip(await fakeClassify(second, 3)));
    // The filling answer ranked every class, so the first image answers any top_k.
    const deep = await app.classify(one(first, CLASSIFY_MAX_TOP_K));
    expect(deep.headers.get('x-cache')).toBe('hit');
    expect(await deep.json<Scores>()).toEqual(strip(await fakeClassify(first, CLASSIFY_MAX_TOP_K)));
    expect(await topKsSince(app.tenant, 0)).toEqual([CLASSIFY_MAX_TOP_K, CLASSIFY_CACHE_MIN_DEPTH]);
  });

  it('sends only the uncached images of a request to the backend and keeps the answer in request order', async () => {
    const { tenant, classify } = await tenantApp();
    const cached = uniquePng();
    const fresh = uniquePng();
    expect((await classify(one(cached))).status).toBe(200);
    expect((await backendStats(tenant)).images).toBe(1);

    const res = await classify(many([fresh, cached], 4));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('partial');
    expect(await res.json<Scores[]>()).toEqual([strip(await fakeClassify(fresh, 4)), strip(await fakeClassify(cached, 4))]);
    const stats = await backendStats(tenant);
    expect(stats.calls['/v1/classify']).toBe(2);
    expect(stats.images).toBe(2);
  });

  it('classifies an image repeated within one request once', async () => {
    const { tenant, classify } = await tenantApp();
    const png = uniquePng();
    const res = await classify(many([png, png], 2));
    expect(res.headers.get('x-cache')).toBe('miss');
    const expected = strip(await fakeClassify(png, 2));
    expect(await res.json<Scores[]>()).toEqual([expected, expected]);
    expect((await backendStats(tenant)).images).toBe(1);
  });

  it('serves a fresh isolate from KV without calling the backend', async () => {
    const { tenant, classify } = await tenantApp();
    const png = uniquePng();
    const first = await (await classify(one(png, 7))).json<Scores>();
    const calls = await backendCalls(tenant);
    const cold = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) } });
    const res = await cold.request('/v1/classify', postJson(key, one(png, 7)));
    expect(res.headers.get('x-cache')).toBe('hit');
    expect(await res.json<Scores>()).toEqual(first);
    expect(await backendCalls(tenant)).toBe(calls);
  });

  it('keys cached classes by the model revision and the image hash, with the depth asked for', async () => {
    const app = await tenantApp();
    await warmLabels(app.classify);
    const png = uniquePng();
    expect((await app.classify(one(png))).status).toBe(200);
    const stored = await env.CACHE.getWithMetadata(classificationKey({ id: FAKE_VIT_ID, testModels: true, revision: FAKE_REVISION }, await sha256Hex(png)), 'arrayBuffer');
    expect(stored.metadata).toEqual({ classes: CLASSIFY_CACHE_MIN_DEPTH, complete: false });
    expect(stored.value?.byteLength).toBe(CLASSIFY_CACHE_MIN_DEPTH * 12);
  });

  it('does not serve classes cached under the old weights once the model info is refreshed', async () => {
    const { tenant, classify, advance } = await tenantApp();
    const png = uniquePng();
    expect((await classify(one(png))).status).toBe(200);

    await setBackendRevision(tenant, NEW_REVISION);
    // The model info expires: in the isolate by its TTL, in KV by its own expiry.
    advance(301_000);
    await env.CACHE.delete(MODEL_INFO_KEY);
    const res = await classify(one(png));

    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('miss');
    expect(await backendCalls(tenant, '/v1/classify')).toBe(2);
    expect(await env.CACHE.get(classificationKey({ id: FAKE_VIT_ID, testModels: true, revision: NEW_REVISION }, await sha256Hex(png)))).not.toBeNull();
  });

  it('recomputes every image of a request whose backend answer shows new weights', async () => {
    const { tenant, classify } = await tenantApp();
    const cached = uniquePng();
    const fresh = uniquePng();
    expect((await classify(one(cached))).status).toBe(200);

    await setBackendRevision(tenant, NEW_REVISION);
    // The cached image would be a hit under the old model info; the fresh one makes the backend reveal the change.
    const res = await classify(many([cached, fresh], 2));

    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('miss');
    expect(await res.json<Scores[]>()).toEqual([strip(await fakeClassify(cached, 2)), strip(await fakeClassify(fresh, 2))]);
    const stats = await backendStats(tenant);
    expect(stats.calls['/v1/models']).toBe(2);
    // The first image, the fresh one under the new weights, then both again under them.
    expect(stats.images).toBe(4);
    const model = { id: FAKE_VIT_ID, testModels: true };
    expect(await env.CACHE.get(classificationKey({ ...model, revision: FAKE_REVISION }, await sha256Hex(fresh)))).toBeNull();
    expect(await env.CACHE.get(classificationKey({ ...model, revision: NEW_REVISION }, await sha256Hex(cached)))).not.toBeNull();
  });

  it('answers 503 and caches nothing when the weights differ again after the refresh', async () => {
    const { tenant, classify } = await tenantApp();
    const listed = 'ffffffffffffffff';
    await setBackendRevision(tenant, NEW_REVISION, listed);
    const png = uniquePng();
    const res = await classify(one(png));

    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/backend_unavailable');
    expect(await backendCalls(tenant, '/v1/models')).toBe(2);
    const model = { id: FAKE_VIT_ID, testModels: true };
    expect(await env.CACHE.get(classificationKey({ ...model, revision: listed }, await sha256Hex(png)))).toBeNull();
    expect(await env.CACHE.get(classificationKey({ ...model, revision: NEW_REVISION }, await sha256Hex(png)))).toBeNull();
  });

  it('caches under the test-weights key when an older backend reports no revision', async () => {
    const { tenant, classify } = await tenantApp();
    await setBackendRevision(tenant, null);
    const png = uniquePng();
    expect((await classify(one(png, 2))).headers.get('x-cache')).toBe('miss');
    const again = await classify(one(png, 2));
    expect(again.headers.get('x-cache')).toBe('hit');
    expect(await again.json<Scores>()).toEqual(strip(await fakeClassify(png, 2)));
    expect(await backendCalls(tenant, '/v1/classify')).toBe(1);
    expect(await env.CACHE.get(classificationKey({ id: FAKE_VIT_ID, testModels: true }, await sha256Hex(png)), 'arrayBuffer')).not.toBeNull();
  });
});

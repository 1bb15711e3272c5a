import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectedZeroShot } from '../../../test/expected';
import { fakePngBytes } from '../../../test/fake-backend';
import { backendCalls, backendStats, backendUrl, postJson, problemOf, seedApiKey, testApp, toBase64, uniquePng } from '../../../test/helpers';

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'], tier: 'high' });
});

type Scores = { label: string; score: number }[];

function expectScores(actual: Scores, expected: Scores): void {
  expect(actual.map((s) => s.label)).toEqual(expected.map((s) => s.label));
  actual.forEach((s, i) => { expect(s.score).toBeCloseTo(expected[i]?.score ?? NaN, 6); });
}

describe('POST /v1/zero-shot', () => {
  it('scores labels for a base64 image as softmax(cos / temperature), best first', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', postJson(key, { image: { base64: toBase64(png) }, labels: ['cat', 'dog', 'car'] }));
    expect(res.status).toBe(200);
    const body = await res.json<Scores>();
    expectScores(body, await expectedZeroShot(png, ['cat', 'dog', 'car']));
    expect(body.reduce((s, r) => s + r.score, 0)).toBeCloseTo(1, 9);
  });

  it('scores an inline image of hundreds of KB (lifted out of JSON.parse) as the same image sent raw', async () => {
    const png = fakePngBytes(crypto.randomUUID(), 300_000);
    const labels = ['cat', 'dog \\ "quoted"'];
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', postJson(key, { images: [{ base64: toBase64(png) }, { url: `data:image/png;base64,${toBase64(png)}` }], labels }));
    expect(res.status).toBe(200);
    const body = await res.json<Scores[]>();
    const expected = await expectedZeroShot(png, labels);
    expectScores(body[0] ?? [], expected);
    expectScores(body[1] ?? [], expected);
  });

  it('refuses a large malformed JSON body with 400 invalid_request', async () => {
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: `{"image": {"base64": "${toBase64(fakePngBytes(crypto.randomUUID(), 100_000))}"}, "labels": ["a",]}`,
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/invalid_request');
  });

  it('uses the hypothesis template for every label', async () => {
    const png = uniquePng();
    const template = 'a blurry photo of a {}';
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', postJson(key, { image: { base64: toBase64(png) }, labels: ['cat', 'dog'], hypothesis_template: template }));
    expectScores(await res.json<Scores>(), await expectedZeroShot(png, ['cat', 'dog'], template));
  });

  it('fetches an image URL at the edge', async () => {
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(crypto.randomUUID()) } });
    const res = await request('/v1/zero-shot', postJson(key, { image: { url: 'https://images.example.com/png/kitten' }, labels: ['cat', 'dog'] }));
    expect(res.status).toBe(200);
    expectScores(await res.json<Scores>(), await expectedZeroShot(fakePngBytes('kitten'), ['cat', 'dog']));
  });

  it('accepts a data URL', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', postJson(key, { image: { url: `data:image/png;base64,${toBase64(png)}` }, labels: ['a', 'b'] }));
    expectScores(await res.json<Scores>(), await expectedZeroShot(png, ['a', 'b']));
  });

  it('answers one list per image for images: [...]', async () => {
    const a = uniquePng();
    const b = uniquePng();
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', postJson(key, { images: [{ base64: toBase64(a) }, { base64: toBase64(b) }], labels: ['x', 'y', 'z'] }));
    const body = await res.json<Scores[]>();
    expect(body).toHaveLength(2);
    expectScores(body[0] ?? [], await expectedZeroShot(a, ['x', 'y', 'z']));
    expectScores(body[1] ?? [], await expectedZeroShot(b, ['x', 'y', 'z']));
  });

  it('accepts a raw image body with labels in the query', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch('https://api.test/v1/zero-shot?labels=cat,dog', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' },
      body: png,
    });
    expect(res.status).toBe(200);
    expectScores(await res.json<Scores>(), await expectedZeroShot(png, ['cat', 'dog']));
  });

  it('accepts repeated query labels, and a JSON array for labels with commas', async () => {
    const png = uniquePng();
    const init = { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream' }, body: png };
    const repeated = await exports.default.fetch('https://api.test/v1/zero-shot?labels=a,b&labels=c', init);
    expect((await repeated.json<Scores>()).map((s) => s.label).sort()).toEqual(['a,b', 'c']);
    const json = await exports.default.fetch(`https://api.test/v1/zero-shot?labels=${encodeURIComponent('["x, y", "z"]')}`, { ...init, body: png });
    expect((await json.json<Scores>()).map((s) => s.label).sort()).toEqual(['x, y', 'z']);
  });

  it('accepts multipart image parts and label fields', async () => {
    const a = uniquePng();
    const b = uniquePng();
    const form = new FormData();
    form.append('image', new Blob([a], { type: 'image/png' }), 'a.png');
    form.append('image', new Blob([b], { type: 'image/png' }), 'b.png');
    form.append('labels', 'cat');
    form.append('labels', 'dog');
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(res.status).toBe(200);
    const body = await res.json<Scores[]>();
    expectScores(body[1] ?? [], await expectedZeroShot(b, ['cat', 'dog']));
  });

  it('answers a single list for one multipart part with comma-separated labels', async () => {
    const png = uniquePng();
    const form = new FormData();
    form.append('image', new Blob([png], { type: 'image/png' }), 'a.png');
    form.append('labels', 'cat,dog');
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expectScores(await res.json<Scores>(), await expectedZeroShot(png, ['cat', 'dog']));
  });
});

describe('POST /v1/zero-shot validation', () => {
  const image = { base64: toBase64(fakePngBytes('validation')) };

  it.each([
    ['too many labels', { image, labels: Array.from({ length: 65 }, (_, i) => `l${i}`) }, 'labels'],
    ['no labels', { image, labels: [] }, 'labels'],
    ['an empty label', { image, labels: ['cat', ''] }, 'labels[1]'],
    ['a blank label', { image, labels: ['   '] }, 'labels[0]'],
    ['a label over 200 characters', { image, labels: ['x'.repeat(201)] }, 'labels[0]'],
    ['a template without {}', { image, labels: ['a'], hypothesis_template: 'a photo' }, 'hypothesis_template'],
    ['no image', { labels: ['a'] }, 'image'],
    ['both image and images', { image, images: [image], labels: ['a'] }, 'images'],
    ['more than 16 images', { images: Array.from({ length: 17 }, () => image), labels: ['a'] }, 'images'],
    ['an unknown field', { image, labels: ['a'], candidate_labels: ['a'] }, ''],
    ['an image with neither url nor base64', { image: { path: '/etc/passwd' }, labels: ['a'] }, 'image'],
  ])('refuses %s with 400 naming the field', async (_name, body, path) => {
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', postJson(key, body));
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.type).toBe('https://coyo-edge.dev/problems/validation_failed');
    expect(problem.errors?.map((e) => e.path)).toContain(path);
    expect(problem.request_id).toBe(res.headers.get('x-request-id'));
  });

  it('refuses a label whose hypothesis would exceed the 2048 characters a text may have, without calling the backend', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) } });
    // Every "{}" takes the label: 11 × 200 characters is 2,200, more than the backend accepts.
    const template = '{}'.repeat(11);
    const res = await request('/v1/zero-shot', postJson(key, { image, labels: ['cat', 'x'.repeat(200)], hypothesis_template: template }));
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.type).toBe('https://coyo-edge.dev/problems/validation_failed');
    expect(problem.errors?.map((e) => e.path)).toEqual(['labels[1]']);
    const raw = await request(`/v1/zero-shot?labels=${'y'.repeat(200)}&hypothesis_template=${template}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' },
      body: uniquePng(),
    });
    expect(raw.status).toBe(400);
    expect((await problemOf(raw)).errors).toMatchObject([{ in: 'query', path: 'labels[0]' }]);
    expect(await backendCalls(tenant)).toBe(0);
  });

  it('refuses malformed JSON with 400 invalid_request', async () => {
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{"labels": [',
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/invalid_request');
  });

  it('refuses query labels that fail the same rules, naming the query field', async () => {
    const res = await exports.default.fetch('https://api.test/v1/zero-shot?labels=cat,', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' },
      body: uniquePng(),
    });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors).toEqual([{ in: 'query', path: 'labels[1]', message: 'label must not be empty' }]);
  });

  it('refuses a body type it does not accept with 415', async () => {
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' }, body: 'cat' });
    expect(res.status).toBe(415);
    await problemOf(res);
  });

  it('refuses bytes that are not an image with 415, whatever the Content-Type claims', async () => {
    const res = await exports.default.fetch('https://api.test/v1/zero-shot?labels=a', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'image/jpeg' },
      body: 'GIF? no, just text',
    });
    expect(res.status).toBe(415);
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/unsupported_media_type');
  });

  it('refuses a base64 image that decodes to something else with 415', async () => {
    const res = await exports.default.fetch('https://api.test/v1/zero-shot', postJson(key, { image: { base64: btoa('%PDF-1.7 not an image') }, labels: ['a'] }));
    expect(res.status).toBe(415);
  });

  it('refuses an image over MAX_IMAGE_BYTES with 413', async () => {
    const { request } = testApp(env, { env: { MAX_IMAGE_BYTES: '2048', BACKEND_URL: backendUrl(crypto.randomUUID()) } });
    const res = await request('/v1/zero-shot?labels=a', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, body: uniquePng(4096) });
    expect(res.status).toBe(413);
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/image_too_large');
    const json = await request('/v1/zero-shot', postJson(key, { image: { base64: toBase64(uniquePng(4096)) }, labels: ['a'] }));
    expect(json.status).toBe(413);
  });

  it('refuses a request body over MAX_REQUEST_BYTES with 413 payload_too_large', async () => {
    const { request } = testApp(env, { env: { MAX_IMAGE_BYTES: '2048', MAX_REQUEST_BYTES: '4096', BACKEND_URL: backendUrl(crypto.randomUUID()) } });
    const images = Array.from({ length: 4 }, () => ({ base64: toBase64(uniquePng(1500)) }));
    const res = await request('/v1/zero-shot', postJson(key, { images, labels: ['a'] }));
    expect(res.status).toBe(413);
    expect((await problemOf(res)).type).toBe('https://coyo-edge.dev/problems/payload_too_large');
  });
});

/** Labels no earlier test embedded, so the text cache starts cold for them. */
function uniqueLabels(n: number): string[] {
  return Array.from({ length: n }, () => `label ${crypto.randomUUID()}`);
}

describe('zero-shot caching', () => {
  it('makes zero backend calls for a repeated request', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) } });
    const body = { image: { base64: toBase64(uniquePng()) }, labels: uniqueLabels(2) };
    const first = await request('/v1/zero-shot', postJson(key, body));
    expect(first.headers.get('x-cache')).toBe('miss');
    const callsAfterFirst = await backendCalls(tenant);
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(1);
    expect(await backendCalls(tenant, '/v1/embed/text')).toBe(1);
    const second = await request('/v1/zero-shot', postJson(key, body));
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(await second.json()).toEqual(await first.json());
    expect(await backendCalls(tenant)).toBe(callsAfterFirst);
  });

  it('asks only the text tower for new labels on a cached image', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) } });
    const image = { base64: toBase64(uniquePng()) };
    const [cat = '', dog = '', bird = ''] = uniqueLabels(3);
    await request('/v1/zero-shot', postJson(key, { image, labels: [cat, dog] }));
    const res = await request('/v1/zero-shot', postJson(key, { image, labels: [cat, bird] }));
    expect(res.headers.get('x-cache')).toBe('partial');
    const stats = await backendCalls(tenant, '/v1/embed/image');
    expect(stats).toBe(1);
    expect(await backendCalls(tenant, '/v1/embed/text')).toBe(2);
    const { texts } = await backendStats(tenant);
    expect(texts).toBe(3); // cat, dog, then only bird
  });

  it('asks only the image tower for a new image with cached labels', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) } });
    const labels = uniqueLabels(2);
    await request('/v1/zero-shot', postJson(key, { image: { base64: toBase64(uniquePng()) }, labels }));
    const res = await request('/v1/zero-shot', postJson(key, { image: { base64: toBase64(uniquePng()) }, labels }));
    expect(res.headers.get('x-cache')).toBe('partial');
    expect(await backendCalls(tenant, '/v1/embed/text')).toBe(1);
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(2);
  });

  it('serves a fresh isolate from KV without touching the backend', async () => {
    const tenant = crypto.randomUUID();
    const body = { image: { base64: toBase64(uniquePng()) }, labels: uniqueLabels(2) };
    const warm = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) } });
    const first = await (await warm.request('/v1/zero-shot', postJson(key, body))).json();
    const calls = await backendCalls(tenant);
    const cold = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) } });
    const res = await cold.request('/v1/zero-shot', postJson(key, body));
    expect(res.headers.get('x-cache')).toBe('hit');
    expect(await res.json()).toEqual(first);
    expect(await backendCalls(tenant)).toBe(calls);
  });

  it('embeds an image repeated within one request once', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) } });
    const image = { base64: toBase64(uniquePng()) };
    const res = await request('/v1/zero-shot', postJson(key, { images: [image, image], labels: uniqueLabels(2) }));
    const [x, y] = await res.json<Scores[]>();
    expect(x).toEqual(y);
    const { images } = await backendStats(tenant);
    expect(images).toBe(1);
  });
});

import { formatContentDigest } from '@coyo/backend-protocol';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectedZeroShot } from '../../../test/expected';
import { fakeClassify, fakeImageEmbedding } from '../../../test/fake-embeddings';
import { backendCalls, backendStats, backendUrl, problemOf, seedApiKey, setBackendRevision, testApp, uniquePng } from '../../../test/helpers';
import { sha256Hex } from '../../services/encoding';
import { MODEL_INFO_KEY } from '../../services/model-info';

type Scores = { label: string; score: number }[];
type Mode = Parameters<typeof backendUrl>[1];

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'], tier: 'high' });
});

/** An app on its own tenant of the fake backend, with no model info left in KV by another test. */
async function tenantApp(mode: Mode = 'normal', vars: Record<string, string> = {}) {
  await env.CACHE.delete(MODEL_INFO_KEY);
  const tenant = crypto.randomUUID();
  return { tenant, ...testApp(env, { env: { BACKEND_URL: backendUrl(tenant, mode), ...vars } }) };
}

/** Labels no other test embeds. */
function uniqueLabels(...names: string[]): string[] {
  const suffix = crypto.randomUUID().slice(0, 8);
  return names.map((name) => `${name} ${suffix}`);
}

/** The `Content-Digest` of `bytes`. */
async function digestOf(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return formatContentDigest(await sha256Hex(bytes));
}

/** A raw image POST, with `digest` as its Content-Digest when given, and its length declared. */
function raw(body: Uint8Array<ArrayBuffer>, digest: string | null, contentType = 'image/png'): RequestInit {
  const headers: Record<string, string> = { authorization: `Bearer ${key}`, 'content-type': contentType, 'content-length': String(body.byteLength) };
  if (digest !== null) headers['content-digest'] = digest;
  return { method: 'POST', headers, body };
}

function expectScores(actual: Scores, expected: Scores): void {
  expect(actual.map((s) => s.label)).toEqual(expected.map((s) => s.label));
  actual.forEach((s, i) => {
    expect(s.score).toBeCloseTo(expected[i]?.score ?? NaN, 6);
  });
}

const strip = (list: Scores) => list.map(({ label, score }) => ({ label, score }));

describe('a raw image body with a Content-Digest', () => {
  it('goes to the backend unread on a miss, its length kept, and a second identical request is a hit', async () => {
    const { tenant, request } = await tenantApp();
    const png = uniquePng(3000);
    const labels = uniqueLabels('cat', 'dog');
    const query = `?labels=${encodeURIComponent(labels.join(','))}`;
    const first = await request(`/v1/zero-shot${query}`, raw(png, await digestOf(png)));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('miss');
    expectScores(await first.json<Scores>(), await expectedZeroShot(png, labels));
    const [body] = (await backendStats(tenant)).rawBodies;
    // Sent as a fixed-length body (not chunked) with the claim forwarded.
    expect(body).toEqual({
      route: '/v1/embed/image',
      contentLength: String(png.byteLength),
      transferEncoding: null,
      contentDigest: await digestOf(png),
      bytes: png.byteLength,
    });

    const second = await request(`/v1/zero-shot${query}`, raw(png, await digestOf(png)));
    expect(second.status).toBe(200);
    expect(second.headers.get('x-cache')).toBe('hit');
    expectScores(await second.json<Scores>(), await expectedZeroShot(png, labels));
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(1);
  });

  it('refuses a false claim on a miss with 400 digest_mismatch and caches nothing under it', async () => {
    const { tenant, request } = await tenantApp();
    const claimed = uniquePng();
    const sent = uniquePng();
    const labels = uniqueLabels('cat', 'dog');
    const query = `?labels=${encodeURIComponent(labels.join(','))}`;
    const lie = await request(`/v1/zero-shot${query}`, raw(sent, await digestOf(claimed)));
    expect(lie.status).toBe(400);
    expect((await problemOf(lie)).type).toMatch(/\/digest_mismatch$/);

    // The claimed image was not cached with the sent image's answer: an honest request for it is a miss.
    const honest = await request(`/v1/zero-shot${query}`, raw(claimed, await digestOf(claimed)));
    expect(honest.status).toBe(200);
    // The image's embedding was not cached (the labels' may have been, by the refused request).
    expect(honest.headers.get('x-cache')).not.toBe('hit');
    expectScores(await honest.json<Scores>(), await expectedZeroShot(claimed, labels));
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(2);
  });

  it('refuses a false claim on a cache hit with 400 digest_mismatch', async () => {
    const { tenant, request } = await tenantApp();
    const cached = uniquePng();
    const labels = uniqueLabels('cat', 'dog');
    const query = `?labels=${encodeURIComponent(labels.join(','))}`;
    expect((await request(`/v1/zero-shot${query}`, raw(cached, await digestOf(cached)))).status).toBe(200);

    const lie = await request(`/v1/zero-shot${query}`, raw(uniquePng(), await digestOf(cached)));
    expect(lie.status).toBe(400);
    const refused = await problemOf(lie);
    expect(refused.type).toMatch(/\/digest_mismatch$/);
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(1);
    // Refused by the edge here, by the backend on a miss: worded alike, so the answer does not say which.
    const other = uniquePng();
    const missed = await problemOf(await request(`/v1/zero-shot${query}`, raw(uniquePng(), await digestOf(other))));
    expect(missed.detail).toBe(refused.detail);
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(2);
  });

  it('answers a body that is no image with the buffered path’s 415 problem type', async () => {
    const { request } = await tenantApp();
    const text = new Uint8Array(new TextEncoder().encode(`not an image ${crypto.randomUUID()}`));
    const res = await request('/v1/zero-shot?labels=cat,dog', raw(text, await digestOf(text)));
    expect(res.status).toBe(415);
    expect((await problemOf(res)).type).toMatch(/\/unsupported_media_type$/);
    const buffered = await request('/v1/zero-shot?labels=cat,dog', raw(text, null));
    expect((await problemOf(buffered)).type).toMatch(/\/unsupported_media_type$/);
  });

  it('refuses a declared length over the image cap with 413 before reading', async () => {
    const { tenant, request } = await tenantApp('normal', { MAX_IMAGE_BYTES: '2048' });
    const png = uniquePng(4096);
    const res = await request('/v1/zero-shot?labels=cat,dog', raw(png, await digestOf(png)));
    expect(res.status).toBe(413);
    expect((await problemOf(res)).type).toMatch(/\/image_too_large$/);
    expect(await backendCalls(tenant)).toBe(0);
  });

  it('answers but does not cache when the backend does not confirm the digest', async () => {
    const { tenant, request } = await tenantApp('noecho');
    const png = uniquePng();
    const labels = uniqueLabels('cat');
    const query = `?labels=${encodeURIComponent(labels.join(','))}`;
    for (let i = 0; i < 2; i++) {
      const res = await request(`/v1/zero-shot${query}`, raw(png, await digestOf(png)));
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache')).not.toBe('hit');
      expectScores(await res.json<Scores>(), await expectedZeroShot(png, labels));
    }
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(2);
  });

  it('refuses a malformed Content-Digest with 400 invalid_request', async () => {
    const { tenant, request } = await tenantApp();
    const png = uniquePng();
    const res = await request('/v1/zero-shot?labels=cat', raw(png, 'sha-256=not-base64'));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).type).toMatch(/\/invalid_request$/);
    expect(await backendCalls(tenant)).toBe(0);
  });

  it('ignores a Content-Digest without sha-256 (the buffered path, as without one)', async () => {
    const { tenant, request } = await tenantApp();
    const png = uniquePng();
    const labels = uniqueLabels('cat');
    const res = await request(`/v1/zero-shot?labels=${encodeURIComponent(labels[0] ?? '')}`, raw(png, `sha-512=:${btoa('x'.repeat(64))}:`));
    expect(res.status).toBe(200);
    expectScores(await res.json<Scores>(), await expectedZeroShot(png, labels));
    expect((await backendStats(tenant)).rawBodies.map((b) => b.contentDigest)).toEqual([null]);
  });

  it('takes the buffered path for a body of undeclared length', async () => {
    const { tenant, request } = await tenantApp();
    const png = uniquePng();
    const labels = uniqueLabels('cat');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(png);
        controller.close();
      },
    });
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'image/png', 'content-digest': await digestOf(png) };
    const res = await request(`/v1/zero-shot?labels=${encodeURIComponent(labels[0] ?? '')}`, { method: 'POST', headers, body: stream });
    expect(res.status).toBe(200);
    expectScores(await res.json<Scores>(), await expectedZeroShot(png, labels));
    expect((await backendStats(tenant)).rawBodies.map((b) => b.contentDigest)).toEqual([null]);
  });

  it('sends a streamed body once: a backend 503 is the client’s to retry (503 with Retry-After)', async () => {
    const { tenant, request } = await tenantApp('flaky');
    const png = uniquePng();
    const res = await request('/v1/classify', raw(png, await digestOf(png)));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).not.toBeNull();
    expect(await backendCalls(tenant, '/v1/classify')).toBe(1);
    // The retry the client makes succeeds (the flaky backend answers its second call).
    const again = await request('/v1/classify', raw(png, await digestOf(png)));
    expect(again.status).toBe(200);
    expect(await again.json<Scores>()).toEqual(strip(await fakeClassify(png, 5)));
  });

  it('does not send a consumed body again when the backend changed models: 503, and the next request uses the new weights', async () => {
    const { tenant, request } = await tenantApp();
    const png = uniquePng();
    // Model info for the default weights, cached by a first request.
    const warm = uniquePng();
    expect((await request('/v1/embeddings', raw(warm, await digestOf(warm)))).status).toBe(200);
    await setBackendRevision(tenant, 'a1b2c3d4e5f60718');
    const res = await request('/v1/embeddings', raw(png, await digestOf(png)));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await backendCalls(tenant, '/v1/embed/image')).toBe(2);

    const retried = await request('/v1/embeddings', raw(png, await digestOf(png)));
    expect(retried.status).toBe(200);
    const body = await retried.json<{ data: { embedding: number[] }[] }>();
    const expected = await fakeImageEmbedding(png, 'a1b2c3d4e5f60718');
    const norm = Math.hypot(...expected);
    body.data[0]?.embedding.forEach((x, i) => {
      expect(x).toBeCloseTo((expected[i] ?? NaN) / norm, 5);
    });
  });
});

describe('POST /v1/classify with a Content-Digest', () => {
  it('caches a streamed miss under the confirmed digest, and refuses a false claim on the hit', async () => {
    const { tenant, request } = await tenantApp();
    const png = uniquePng();
    const first = await request('/v1/classify?top_k=3', raw(png, await digestOf(png)));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('miss');
    expect(await first.json<Scores>()).toEqual(strip(await fakeClassify(png, 3)));
    const second = await request('/v1/classify?top_k=3', raw(png, await digestOf(png)));
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(await second.json<Scores>()).toEqual(strip(await fakeClassify(png, 3)));
    expect(await backendCalls(tenant, '/v1/classify')).toBe(1);

    const lie = await request('/v1/classify?top_k=3', raw(uniquePng(), await digestOf(png)));
    expect(lie.status).toBe(400);
    expect((await problemOf(lie)).type).toMatch(/\/digest_mismatch$/);
  });

  it('refuses a false claim on a miss and caches nothing under it', async () => {
    const { tenant, request } = await tenantApp();
    const claimed = uniquePng();
    const lie = await request('/v1/classify', raw(uniquePng(), await digestOf(claimed)));
    expect(lie.status).toBe(400);
    expect((await problemOf(lie)).type).toMatch(/\/digest_mismatch$/);
    const honest = await request('/v1/classify', raw(claimed, await digestOf(claimed)));
    expect(honest.headers.get('x-cache')).toBe('miss');
    expect(await honest.json<Scores>()).toEqual(strip(await fakeClassify(claimed, 5)));
    expect(await backendCalls(tenant, '/v1/classify')).toBe(2);
  });
});

describe('POST /v1/embeddings with a raw image body', () => {
  type Answer = { model: string; dim: number; data: { index: number; type: string; embedding: number[] | string }[]; usage: { text_tokens: number; images: number } };

  it('answers as the JSON form with one image does, options in the query, with or without a digest', async () => {
    const { request } = await tenantApp();
    const png = uniquePng();
    const base64 = btoa(String.fromCharCode(...png));
    const json = await request('/v1/embeddings', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ images: [{ base64 }], normalize: false, encoding_format: 'base64' }),
    });
    const expected = await json.json<Answer>();
    for (const digest of [null, await digestOf(png)]) {
      const res = await request('/v1/embeddings?normalize=false&encoding_format=base64', raw(png, digest, 'application/octet-stream'));
      expect(res.status).toBe(200);
      expect(await res.json<Answer>()).toEqual(expected);
    }
  });

  it('refuses an unknown query parameter with 400', async () => {
    const { request } = await tenantApp();
    const png = uniquePng();
    const res = await request('/v1/embeddings?normalise=false', raw(png, await digestOf(png)));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).type).toMatch(/\/validation_failed$/);
  });
});

import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { backendCalls, backendUrl, pngDeclaring, postJson, problemOf, seedApiKey, testApp, toBase64 } from '../../../test/helpers';

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'], tier: 'high' });
});

const PAYLOAD_TOO_LARGE = 'https://coyo-edge.dev/problems/payload_too_large';

function multipart(images: readonly Uint8Array<ArrayBuffer>[]): RequestInit {
  const form = new FormData();
  for (const [i, png] of images.entries()) form.append('image', new Blob([png], { type: 'image/png' }), `${i}.png`);
  return { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form };
}

describe('per-request image budget', () => {
  it('refuses images whose headers declare more pixels than MAX_REQUEST_PIXELS allows, before the backend sees them', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant) } });
    // Two 56 Mpx images: each within the backend's per-image cap, together over the 100 Mpx default.
    const images = [pngDeclaring(8000, 7000), pngDeclaring(8000, 7000)];
    const res = await request('/v1/classify', postJson(key, { images: images.map((png) => ({ base64: toBase64(png) })) }));
    expect(res.status).toBe(413);
    const problem = await problemOf(res);
    expect(problem.type).toBe(PAYLOAD_TOO_LARGE);
    expect(problem.detail).toContain('112000000 pixels');
    expect(await backendCalls(tenant)).toBe(0);

    const one = await request('/v1/classify', postJson(key, { image: { base64: toBase64(pngDeclaring(8000, 7000)) } }));
    expect(one.status).toBe(200);
  });

  it('holds multipart and raw-image requests to the same pixel budget', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant), MAX_REQUEST_PIXELS: '10000' } });
    const parts = await request('/v1/classify', multipart([pngDeclaring(100, 60), pngDeclaring(100, 60)]));
    expect(parts.status).toBe(413);
    expect((await problemOf(parts)).type).toBe(PAYLOAD_TOO_LARGE);
    const raw = await request('/v1/classify', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, body: pngDeclaring(101, 100) });
    expect(raw.status).toBe(413);
    expect(await backendCalls(tenant)).toBe(0);
    const within = await request('/v1/classify', multipart([pngDeclaring(100, 50), pngDeclaring(100, 50)]));
    expect(within.status).toBe(200);
  });

  it('refuses more images than MAX_IMAGES_PER_REQUEST with 413, in JSON and multipart', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant), MAX_IMAGES_PER_REQUEST: '2' } });
    const three = [pngDeclaring(10, 10), pngDeclaring(10, 10), pngDeclaring(10, 10)];
    const json = await request('/v1/classify', postJson(key, { images: three.map((png) => ({ base64: toBase64(png) })) }));
    expect(json.status).toBe(413);
    expect((await problemOf(json)).detail).toMatch(/3 images; at most 2/);
    const parts = await request('/v1/classify', multipart(three));
    expect(parts.status).toBe(413);
    expect(await backendCalls(tenant)).toBe(0);
    expect((await request('/v1/classify', multipart(three.slice(0, 2)))).status).toBe(200);
  });

  it('holds every image route to the budget (zero-shot too)', async () => {
    const tenant = crypto.randomUUID();
    const { request } = testApp(env, { env: { BACKEND_URL: backendUrl(tenant), MAX_REQUEST_PIXELS: '100' } });
    const res = await request('/v1/zero-shot', postJson(key, { image: { base64: toBase64(pngDeclaring(11, 10)) }, labels: ['a'] }));
    expect(res.status).toBe(413);
    expect(await backendCalls(tenant)).toBe(0);
  });
});

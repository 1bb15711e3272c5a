import { SELF, env } from 'cloudflare:test';
import { beforeAll, describe, expect, it } from 'vitest';
import { fakeClassify } from '../../../test/fake-embeddings';
import { postJson, problemOf, seedApiKey, toBase64, uniquePng } from '../../../test/helpers';

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'] });
});

type Scores = { label: string; score: number }[];
const strip = (list: { label: string; score: number }[]) => list.map(({ label, score }) => ({ label, score }));

describe('POST /v1/classify', () => {
  it('returns the top 5 classes by default, best first', async () => {
    const png = uniquePng();
    const res = await SELF.fetch('https://api.test/v1/classify', postJson(key, { image: { base64: toBase64(png) } }));
    expect(res.status).toBe(200);
    expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, 5)));
  });

  it('honours top_k', async () => {
    const png = uniquePng();
    const res = await SELF.fetch('https://api.test/v1/classify', postJson(key, { image: { base64: toBase64(png) }, top_k: 2 }));
    expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, 2)));
  });

  it('answers one list per image for images: [...]', async () => {
    const a = uniquePng();
    const b = uniquePng();
    const res = await SELF.fetch('https://api.test/v1/classify', postJson(key, { images: [{ base64: toBase64(a) }, { base64: toBase64(b) }], top_k: 3 }));
    expect(await res.json<Scores[]>()).toEqual([strip(await fakeClassify(a, 3)), strip(await fakeClassify(b, 3))]);
  });

  it('accepts a raw image with top_k in the query', async () => {
    const png = uniquePng();
    const res = await SELF.fetch('https://api.test/v1/classify?top_k=1', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, body: png });
    expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, 1)));
  });

  it('accepts multipart parts', async () => {
    const png = uniquePng();
    const form = new FormData();
    form.append('image', new Blob([png], { type: 'image/png' }), 'x.png');
    form.append('top_k', '4');
    const res = await SELF.fetch('https://api.test/v1/classify', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, 4)));
  });

  it.each([0, 1001, 2.5])('refuses top_k %s with 400', async (topK) => {
    const res = await SELF.fetch('https://api.test/v1/classify', postJson(key, { image: { base64: toBase64(uniquePng()) }, top_k: topK }));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]?.path).toBe('top_k');
  });

  it('refuses a query top_k that is not a number', async () => {
    const res = await SELF.fetch('https://api.test/v1/classify?top_k=lots', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, body: uniquePng() });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]).toMatchObject({ in: 'query', path: 'top_k' });
  });

  it('refuses a multipart body without image parts', async () => {
    const form = new FormData();
    form.append('top_k', '3');
    const res = await SELF.fetch('https://api.test/v1/classify', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]?.path).toBe('image');
  });
});

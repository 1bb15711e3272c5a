import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAKE_DIM, fakeImageEmbedding, fakeTextEmbedding, fakeTokens } from '../../../test/fake-embeddings';
import { postJson, problemOf, seedApiKey, toBase64, uniquePng } from '../../../test/helpers';
import type { EmbeddingsResponse, SimilarityResponse } from '../../schemas/inference';
import { cosine } from '../../../test/expected';
import { fakePngBytes } from '../../../test/fake-backend';

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'] });
});

const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('POST /v1/embeddings', () => {
  it('returns unnormalised embeddings exactly as the towers give them when normalize is false', async () => {
    const png = uniquePng();
    const text = `a photo ${crypto.randomUUID()}`;
    const res = await exports.default.fetch('https://api.test/v1/embeddings', postJson(key, { texts: [text], images: [{ base64: toBase64(png) }], normalize: false }));
    expect(res.status).toBe(200);
    const body = await res.json<EmbeddingsResponse>();
    expect(body.model).toBe('align-base');
    expect(body.dim).toBe(FAKE_DIM);
    expect(body.data.map((d) => [d.type, d.index])).toEqual([
      ['text', 0],
      ['image', 0],
    ]);
    expect(body.data[0]?.embedding).toEqual(await fakeTextEmbedding(text));
    expect(body.data[1]?.embedding).toEqual(await fakeImageEmbedding(png));
    expect(body.usage).toEqual({ text_tokens: fakeTokens(text), images: 1 });
  });

  it('embeds an inline image of hundreds of KB (read without JSON.parse scanning it) exactly', async () => {
    const png = fakePngBytes(crypto.randomUUID(), 300_000);
    const res = await exports.default.fetch('https://api.test/v1/embeddings', postJson(key, { images: [{ base64: toBase64(png) }], normalize: false }));
    expect(res.status).toBe(200);
    const body = await res.json<EmbeddingsResponse>();
    expect(body.data[0]?.embedding).toEqual(await fakeImageEmbedding(png));
  });

  it('L2-normalises by default', async () => {
    const res = await exports.default.fetch('https://api.test/v1/embeddings', postJson(key, { texts: ['one', 'two words'] }));
    const body = await res.json<EmbeddingsResponse>();
    for (const d of body.data) expect(norm(d.embedding as number[])).toBeCloseTo(1, 5);
    const direction = await fakeTextEmbedding('one');
    expect((body.data[0]?.embedding as number[])[0]).toBeCloseTo((direction[0] ?? 0) / norm(direction), 6);
  });

  it('encodes base64 as little-endian float32 bytes', async () => {
    const res = await exports.default.fetch('https://api.test/v1/embeddings', postJson(key, { texts: ['base64 please'], normalize: false, encoding_format: 'base64' }));
    const body = await res.json<EmbeddingsResponse>();
    const b64 = body.data[0]?.embedding;
    expect(typeof b64).toBe('string');
    const bytes = Uint8Array.from(atob(b64 as string), (c) => c.charCodeAt(0));
    expect(bytes.byteLength).toBe(FAKE_DIM * 4);
    const view = new DataView(bytes.buffer);
    const decoded = Array.from({ length: FAKE_DIM }, (_, i) => view.getFloat32(i * 4, true));
    expect(decoded).toEqual(await fakeTextEmbedding('base64 please'));
  });

  it('refuses a body with neither texts nor images', async () => {
    const res = await exports.default.fetch('https://api.test/v1/embeddings', postJson(key, { normalize: true }));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]?.path).toBe('texts');
  });

  it('refuses a body that is neither JSON, multipart nor an image with 415', async () => {
    const res = await exports.default.fetch('https://api.test/v1/embeddings', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' }, body: 'a cat' });
    expect(res.status).toBe(415);
    await problemOf(res);
  });

  it('refuses a raw body that is no image with 415, as the image routes do', async () => {
    const res = await exports.default.fetch('https://api.test/v1/embeddings', {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream' },
      body: new TextEncoder().encode('not an image'),
    });
    expect(res.status).toBe(415);
    expect((await problemOf(res)).type).toMatch(/\/unsupported_media_type$/);
  });
});

describe('POST /v1/similarity', () => {
  it('returns the N×M cosine matrix and logits = cosine / temperature', async () => {
    const a = uniquePng();
    const b = uniquePng();
    const texts = ['a cat', 'a dog', 'a car'];
    const res = await exports.default.fetch('https://api.test/v1/similarity', postJson(key, { images: [{ base64: toBase64(a) }, { base64: toBase64(b) }], texts }));
    expect(res.status).toBe(200);
    const body = await res.json<SimilarityResponse>();
    expect(body.cosine).toHaveLength(2);
    expect(body.cosine[0]).toHaveLength(3);
    const textVectors = await Promise.all(texts.map((t) => fakeTextEmbedding(t)));
    const imageVectors = [await fakeImageEmbedding(a), await fakeImageEmbedding(b)];
    imageVectors.forEach((img, i) => { textVectors.forEach((txt, j) => {
        expect(body.cosine[i]?.[j]).toBeCloseTo(cosine(img, txt), 9);
        expect(body.logits[i]?.[j]).toBeCloseTo(cosine(img, txt) / body.temperature, 6);
      }); },
    );
    expect(body.temperature).toBe(0.05);
  });

  it('requires both images and texts', async () => {
    const res = await exports.default.fetch('https://api.test/v1/similarity', postJson(key, { texts: ['x'] }));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]?.path).toBe('images');
  });
});

/** A multipart POST: `image` parts (PNG files) then `text` and other fields, in the order given. */
function postForm(images: readonly Uint8Array<ArrayBuffer>[], fields: readonly (readonly [string, string])[] = []): RequestInit {
  const form = new FormData();
  for (const [name, value] of fields) form.append(name, value);
  images.forEach((bytes, i) => { form.append('image', new Blob([bytes], { type: 'image/png' }), `${i}.png`); });
  return { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form };
}

const call = (path: string, init: RequestInit) => exports.default.fetch(`https://api.test${path}`, init);

describe('POST /v1/embeddings multipart', () => {
  it('answers text fields and image parts exactly as JSON texts and images (texts first, each in order)', async () => {
    const [a, b] = [uniquePng(), uniquePng()];
    const texts = [`first ${crypto.randomUUID()}`, 'second'];
    const json = await call('/v1/embeddings', postJson(key, { texts, images: [{ base64: toBase64(a) }, { base64: toBase64(b) }], normalize: false }));
    const form = await call('/v1/embeddings', postForm([a, b], [['text', texts[0] ?? ''], ['text', texts[1] ?? ''], ['normalize', 'false']]));
    expect(form.status).toBe(200);
    const body = await form.json<EmbeddingsResponse>();
    expect(body).toEqual(await json.json<EmbeddingsResponse>());
    expect(body.data.map((d) => [d.type, d.index])).toEqual([['text', 0], ['text', 1], ['image', 0], ['image', 1]]);
    expect(body.data[3]?.embedding).toEqual(await fakeImageEmbedding(b));
  });

  it('embeds image parts alone, normalised, in base64 when encoding_format is base64, as JSON does', async () => {
    const png = uniquePng();
    const form = await call('/v1/embeddings', postForm([png], [['encoding_format', 'base64']]));
    expect(form.status).toBe(200);
    const json = await call('/v1/embeddings', postJson(key, { images: [{ base64: toBase64(png) }], encoding_format: 'base64' }));
    const body = await form.json<EmbeddingsResponse>();
    expect(typeof body.data[0]?.embedding).toBe('string');
    expect(body).toEqual(await json.json<EmbeddingsResponse>());
  });

  it.each([
    ['an unknown field', [['texts', 'a']], [uniquePng()], 'texts'],
    ['an image sent as a text field', [['image', 'https://images.example.com/cat.jpg']], [], 'image'],
    ['neither text fields nor image parts', [['normalize', 'true']], [], 'image'],
    ['an empty text', [['text', '']], [], 'text[0]'],
    ['normalize that is not true or false', [['normalize', 'no']], [uniquePng()], 'normalize'],
    ['17 image parts', [], Array.from({ length: 17 }, () => uniquePng()), 'image'],
  ] as const)('refuses %s with 400 problem+json naming the field', async (_, fields, images, path) => {
    const res = await call('/v1/embeddings', postForm(images, fields));
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.errors?.[0]?.path).toBe(path);
  });

  it('refuses a file part that is not named image', async () => {
    const form = new FormData();
    form.append('file', new Blob([uniquePng()], { type: 'image/png' }), 'a.png');
    const res = await call('/v1/embeddings', { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]?.path).toBe('file');
  });

  it('refuses an image part that is not an image with 415, naming the part', async () => {
    const notImage = new Uint8Array(new TextEncoder().encode('plain text, not an image'));
    const res = await call('/v1/embeddings', postForm([uniquePng(), notImage]));
    expect(res.status).toBe(415);
    expect((await problemOf(res)).detail).toContain('image[1]');
  });

  it('refuses an empty image part as JSON refuses empty base64', async () => {
    const res = await call('/v1/embeddings', postForm([new Uint8Array(0)]));
    expect(res.status).toBe(400);
    await problemOf(res);
  });
});

describe('POST /v1/similarity multipart', () => {
  it('answers image parts and text fields exactly as JSON images and texts', async () => {
    const [a, b] = [uniquePng(), uniquePng()];
    const texts = ['a cat', 'a dog', 'a car'];
    const json = await call('/v1/similarity', postJson(key, { images: [{ base64: toBase64(a) }, { base64: toBase64(b) }], texts }));
    const form = await call('/v1/similarity', postForm([a, b], texts.map((t) => ['text', t] as const)));
    expect(form.status).toBe(200);
    const body = await form.json<SimilarityResponse>();
    expect(body.cosine).toHaveLength(2);
    expect(body.cosine[0]).toHaveLength(3);
    expect(body).toEqual(await json.json<SimilarityResponse>());
  });

  it.each([
    ['no image parts', [['text', 'a cat']], [], 'image'],
    ['no text fields', [], [uniquePng()], 'text'],
    ['an unknown field', [['text', 'a'], ['labels', 'b']], [uniquePng()], 'labels'],
  ] as const)('refuses %s with 400 problem+json naming the field', async (_, fields, images, path) => {
    const res = await call('/v1/similarity', postForm(images, fields));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]?.path).toBe(path);
  });

  it('refuses a raw image body with 415', async () => {
    const res = await call('/v1/similarity', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, body: uniquePng() });
    expect(res.status).toBe(415);
    await problemOf(res);
  });
});

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

  it('refuses a non-JSON body with 415', async () => {
    const res = await exports.default.fetch('https://api.test/v1/embeddings', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png' }, body: uniquePng() });
    expect(res.status).toBe(415);
    await problemOf(res);
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

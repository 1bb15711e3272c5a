import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { FAKE_DIM, fakeImageEmbedding, fakeTextEmbedding, fakeTokens } from '../../../test/fake-embeddings';
import { postJson, problemOf, seedApiKey, toBase64, uniquePng } from '../../../test/helpers';
import type { OpenAiEmbeddingsResponse } from '../../schemas/inference';

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'] });
});

const EMBEDDINGS = 'https://api.test/v1/embeddings';
const floatsOf = (b64: string) => {
  const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  const view = new DataView(bytes.buffer);
  return Array.from({ length: bytes.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
};

describe('POST /v1/embeddings in the OpenAI shape', () => {
  it('answers OpenAI’s list for { model, input }, with the native route’s vectors', async () => {
    const texts = ['a cat', `a dog ${crypto.randomUUID()}`];
    const res = await exports.default.fetch(EMBEDDINGS, postJson(key, { model: 'align-base', input: texts, encoding_format: 'float', normalize: false }));
    expect(res.status).toBe(200);
    const body = await res.json<OpenAiEmbeddingsResponse>();
    expect(body.object).toBe('list');
    expect(body.model).toBe('align-base');
    expect(body.data.map((d) => [d.object, d.index])).toEqual([
      ['embedding', 0],
      ['embedding', 1],
    ]);
    expect(body.data[1]?.embedding).toEqual(await fakeTextEmbedding(texts[1] ?? ''));
    const tokens = fakeTokens('a cat') + fakeTokens(texts[1] ?? '');
    expect(body.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
    const native = await exports.default.fetch(EMBEDDINGS, postJson(key, { texts, normalize: false }));
    const nativeBody = await native.json<{ data: { embedding: number[] }[] }>();
    expect(body.data.map((d) => d.embedding)).toEqual(nativeBody.data.map((d) => d.embedding));
  });

  it('takes one string, and answers base64 as little-endian float32 decoding to the float answer', async () => {
    const input = `base64 ${crypto.randomUUID()}`;
    const b64 = await exports.default.fetch(EMBEDDINGS, postJson(key, { model: 'kakaobrain/align-base', input, encoding_format: 'base64' }));
    const floats = await exports.default.fetch(EMBEDDINGS, postJson(key, { model: 'kakaobrain/align-base', input }));
    const encoded = (await b64.json<OpenAiEmbeddingsResponse>()).data[0]?.embedding;
    expect(typeof encoded).toBe('string');
    expect(floatsOf(encoded as string)).toEqual((await floats.json<OpenAiEmbeddingsResponse>()).data[0]?.embedding);
    expect(floatsOf(encoded as string)).toHaveLength(FAKE_DIM);
  });

  it('embeds Jina-CLIP-style {text} and {image} items in input order', async () => {
    const png = uniquePng();
    const input = [{ image: toBase64(png) }, { text: 'a cat' }, 'a dog'];
    const res = await exports.default.fetch(EMBEDDINGS, postJson(key, { model: 'align-base', input, normalize: false }));
    expect(res.status).toBe(200);
    const { data } = await res.json<OpenAiEmbeddingsResponse>();
    expect(data.map((d) => d.embedding)).toEqual([await fakeImageEmbedding(png), await fakeTextEmbedding('a cat'), await fakeTextEmbedding('a dog')]);
  });

  it('accepts dimensions equal to the model’s, and refuses any other with a 400 OpenAI clients show', async () => {
    const same = await exports.default.fetch(EMBEDDINGS, postJson(key, { model: 'align-base', input: 'x', dimensions: FAKE_DIM }));
    expect(same.status).toBe(200);
    const res = await exports.default.fetch(EMBEDDINGS, postJson(key, { model: 'align-base', input: 'x', dimensions: 256 }));
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.error).toMatchObject({ type: 'invalid_request_error', param: 'dimensions', code: 'validation_failed' });
    expect(problem.detail).toContain(`${FAKE_DIM} dimensions`);
  });

  it('refuses a model that is not ALIGN, naming the param', async () => {
    const res = await exports.default.fetch(EMBEDDINGS, postJson(key, { model: 'text-embedding-3-small', input: 'x' }));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).error).toMatchObject({ param: 'model' });
  });

  it('refuses input beside texts, and OpenAI fields without input', async () => {
    const both = await exports.default.fetch(EMBEDDINGS, postJson(key, { input: 'x', texts: ['y'] }));
    expect((await problemOf(both)).errors?.map((e) => e.path)).toEqual(['texts']);
    const native = await exports.default.fetch(EMBEDDINGS, postJson(key, { texts: ['y'], dimensions: 640 }));
    expect(native.status).toBe(400);
    expect((await problemOf(native)).errors?.map((e) => e.path)).toEqual(['dimensions']);
  });

  it('refuses token arrays, which ALIGN’s tokenizer would not share, with 400', async () => {
    const res = await exports.default.fetch(EMBEDDINGS, postJson(key, { model: 'align-base', input: [[101, 102]] }));
    expect(res.status).toBe(400);
  });

  it('maps a wrong key to a 401 whose error member OpenAI clients read', async () => {
    const res = await exports.default.fetch(EMBEDDINGS, postJson('coyo_wrong', { model: 'align-base', input: 'x' }));
    expect(res.status).toBe(401);
    expect((await problemOf(res)).error).toMatchObject({ type: 'authentication_error', code: 'unauthorized' });
  });
});

describe('GET /v1/models in the OpenAI shape', () => {
  const get = (path: string) => exports.default.fetch(`https://api.test${path}`, { headers: { authorization: `Bearer ${key}` } });

  it('gives each listed model OpenAI’s fields beside the native ones', async () => {
    const body = await (await get('/v1/models')).json<{ object: string; data: Record<string, unknown>[] }>();
    expect(body.object).toBe('list');
    expect(body.data.find((m) => m.id === 'align-base')).toMatchObject({ object: 'model', created: 0, owned_by: 'kakaobrain', embedding_dim: FAKE_DIM });
    expect(body.data.find((m) => m.id === 'vit-large-patch16-384')).toMatchObject({ object: 'model', owned_by: 'google' });
  });

  it('retrieves one model by its id or its Hub id', async () => {
    const byId = await get('/v1/models/align-base');
    expect(byId.status).toBe(200);
    expect(await byId.json()).toMatchObject({ id: 'align-base', object: 'model', task: 'zero-shot-image-classification' });
    const byHubId = await get(`/v1/models/${encodeURIComponent('google/vit-large-patch16-384')}`);
    expect(await byHubId.json()).toMatchObject({ id: 'vit-large-patch16-384', object: 'model' });
  });

  it('answers an unknown id with 404 in both error shapes', async () => {
    const res = await get('/v1/models/gpt-4o');
    expect(res.status).toBe(404);
    expect((await problemOf(res)).error).toMatchObject({ type: 'not_found_error', code: 'not_found' });
  });
});

import { env, exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectedZeroShot, sameScores } from '../../../test/expected';
import { fakeClassify, fakeImageEmbedding, fakeTextEmbedding } from '../../../test/fake-embeddings';
import { postJson, problemOf, seedApiKey, toBase64, uniquePng } from '../../../test/helpers';

let key: string;
beforeAll(async () => {
  key = await seedApiKey(env, { scopes: ['inference'] });
});

type Scores = { label: string; score: number }[];
const strip = (list: { label: string; score: number }[]) => list.map(({ label, score }) => ({ label, score }));
const unit = (v: number[]) => {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
};
const url = (model: string, query = '') => `https://api.test/hf/models/${model}${query}`;
const raw = (body: Uint8Array, headers: Record<string, string> = {}): RequestInit => ({ method: 'POST', headers: { authorization: `Bearer ${key}`, ...headers }, body });

function expectClose(actual: number[], expected: number[]) {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((x, i) => {
    expect(x).toBeCloseTo(expected[i] ?? Number.NaN, 6);
  });
}

describe('POST /hf/models/{model}: zero-shot (ALIGN with candidate labels)', () => {
  it('answers the native scores, best first, for the body the Hugging Face client sends', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch(url('kakaobrain/align-base'), postJson(key, { inputs: { image: toBase64(png) }, parameters: { candidate_labels: ['cat', 'dog', 'car'] } }));
    expect(res.status).toBe(200);
    const scores = await res.json<Scores>();
    expect(sameScores(scores, await expectedZeroShot(png, ['cat', 'dog', 'car']))).toBe(true);
    const native = await exports.default.fetch('https://api.test/v1/zero-shot', postJson(key, { image: { base64: toBase64(png) }, labels: ['cat', 'dog', 'car'] }));
    expect(scores).toEqual(await native.json());
  });

  it('honours hypothesis_template and comma-separated labels', async () => {
    const png = uniquePng();
    const parameters = { candidate_labels: 'cat, dog', hypothesis_template: 'a picture of a {}' };
    const res = await exports.default.fetch(url('align-base'), postJson(key, { inputs: { image: toBase64(png) }, parameters }));
    expect(sameScores(await res.json<Scores>(), await expectedZeroShot(png, ['cat', 'dog'], 'a picture of a {}'))).toBe(true);
  });

  it('takes a raw image with no Content-Type, labels in the query', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch(url('kakaobrain/align-base', '?candidate_labels=cat,dog'), raw(png));
    expect(res.status).toBe(200);
    expect(sameScores(await res.json<Scores>(), await expectedZeroShot(png, ['cat', 'dog']))).toBe(true);
  });

  it('names the failing label where the client put it', async () => {
    const res = await exports.default.fetch(url('align-base'), postJson(key, { inputs: { image: toBase64(uniquePng()) }, parameters: { candidate_labels: ['cat', ''] } }));
    expect(res.status).toBe(400);
    const problem = await problemOf(res);
    expect(problem.errors?.map((e) => e.path)).toEqual(['parameters.candidate_labels[1]']);
    expect(problem.error).toBe(problem.detail);
  });
});

describe('POST /hf/models/{model}: feature extraction (ALIGN without labels)', () => {
  it('answers number[] for one text and number[][] for a list, L2-normalised', async () => {
    const one = await exports.default.fetch(url('kakaobrain/align-base'), postJson(key, { inputs: 'a cat' }));
    expect(one.status).toBe(200);
    expectClose(await one.json<number[]>(), unit(await fakeTextEmbedding('a cat')));
    const many = await exports.default.fetch(url('align-base'), postJson(key, { inputs: ['a cat', 'a dog'] }));
    const vectors = await many.json<number[][]>();
    expect(vectors).toHaveLength(2);
    expectClose(vectors[1] ?? [], unit(await fakeTextEmbedding('a dog')));
  });

  it('answers the image embedding for an image', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch(url('align-base'), raw(png, { 'content-type': 'image/png' }));
    expectClose(await res.json<number[]>(), unit(await fakeImageEmbedding(png)));
    const json = await exports.default.fetch(url('align-base'), postJson(key, { inputs: { image: toBase64(png) }, normalize: false }));
    expectClose(await json.json<number[]>(), await fakeImageEmbedding(png));
  });
});

describe('POST /hf/models/{model}: image classification (ViT)', () => {
  it('answers the native classes for a raw image with no Content-Type, top_k from the query', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch(url('google/vit-large-patch16-384', '?top_k=3'), raw(png));
    expect(res.status).toBe(200);
    expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, 3)));
  });

  it('defaults to 5 classes, and honours parameters.top_k in a JSON body', async () => {
    const png = uniquePng();
    const byDefault = await exports.default.fetch(url('vit-large-patch16-384'), raw(png, { 'content-type': 'application/octet-stream' }));
    expect(await byDefault.json<Scores>()).toEqual(strip(await fakeClassify(png, 5)));
    const json = await exports.default.fetch(url('google/vit-large-patch16-384'), postJson(key, { inputs: toBase64(png), parameters: { top_k: 2 } }));
    expect(await json.json<Scores>()).toEqual(strip(await fakeClassify(png, 2)));
  });

  it('takes top_k from the query for a JSON body without parameters.top_k', async () => {
    const png = uniquePng();
    const res = await exports.default.fetch(url('vit-large-patch16-384', '?top_k=2'), postJson(key, { inputs: { image: toBase64(png) } }));
    expect(await res.json<Scores>()).toEqual(strip(await fakeClassify(png, 2)));
  });

  it('refuses text inputs with 400', async () => {
    const res = await exports.default.fetch(url('vit-large-patch16-384'), postJson(key, { inputs: ['a cat'] }));
    expect(res.status).toBe(400);
    expect((await problemOf(res)).errors?.[0]?.path).toBe('inputs');
  });
});

describe('POST /hf/models/{model}: errors', () => {
  it('answers an unknown model with 404 naming the accepted ids', async () => {
    const res = await exports.default.fetch(url('openai/clip-vit-base-patch32'), postJson(key, { inputs: 'a cat' }));
    expect(res.status).toBe(404);
    const problem = await problemOf(res);
    expect(problem.detail).toContain('kakaobrain/align-base');
    expect(problem.error).toBe(problem.detail);
  });

  it('refuses bytes that are not an image with 415, whatever the Content-Type', async () => {
    const res = await exports.default.fetch(url('align-base'), raw(new TextEncoder().encode('not an image'), { 'content-type': 'image/jpeg' }));
    expect(res.status).toBe(415);
    await problemOf(res);
  });

  it('refuses a text body with 415', async () => {
    const res = await exports.default.fetch(url('align-base'), { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain' }, body: 'a cat' });
    expect(res.status).toBe(415);
  });

  it('needs a key with the inference scope', async () => {
    const coyoOnly = await seedApiKey(env, { scopes: ['coyo'] });
    const res = await exports.default.fetch(url('align-base'), postJson(coyoOnly, { inputs: 'a cat' }));
    expect(res.status).toBe(403);
    expect((await problemOf(res)).error).toContain('inference');
  });
});

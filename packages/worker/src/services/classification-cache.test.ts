import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ProblemError } from '../errors';
import { ClassifyRequestSchema, TopKSchema } from '../schemas/inference';
import type { BackendModels } from './backend-client';
import {
  answersTopK,
  CLASSIFICATION_LRU_ENTRIES,
  ClassificationCache,
  classificationKey,
  CLASSIFY_MAX_TOP_K,
  decodeRanked,
  encodeRanked,
  labelTableKey,
  newClassificationLrus,
  rankedMetadata,
  type RankedClasses,
} from './classification-cache';
import { vitModelOf } from './model-info';

const MODEL = { id: 'vit-large-patch16-384', testModels: false, revision: '0123456789abcdef' };

function ranked(pairs: [number, number][], complete = false): RankedClasses {
  return { indices: Uint32Array.from(pairs, ([i]) => i), scores: Float64Array.from(pairs, ([, s]) => s), complete };
}

/** A ranking of `depth` classes (indices 0…depth-1, falling scores). */
function deep(depth: number, complete = false): RankedClasses {
  return ranked(
    Array.from({ length: depth }, (_, i): [number, number] => [i, 1 / (i + 2)]),
    complete,
  );
}

function cache(lrus = newClassificationLrus()) {
  const pending: Promise<unknown>[] = [];
  const c = new ClassificationCache({ store: env.CACHE, lrus, ttlSeconds: 3600, defer: (p) => void pending.push(p) });
  return { cache: c, lrus, flush: () => Promise.all(pending) };
}

describe('classification cache keys', () => {
  it('keys an image by model, revision and content hash', () => {
    expect(classificationKey(MODEL, 'ab')).toBe('cls:v1:vit-large-patch16-384:0123456789abcdef:img:ab');
    expect(labelTableKey(MODEL)).toBe('cls:v1:vit-large-patch16-384:0123456789abcdef:labels');
  });

  it('keys by weights kind when an older backend reports no revision', () => {
    expect(classificationKey({ id: 'vit-large-patch16-384', testModels: true }, 'ab')).toBe('cls:v1:vit-large-patch16-384:test:img:ab');
    expect(labelTableKey({ id: 'vit-large-patch16-384', testModels: false })).toBe('cls:v1:vit-large-patch16-384:real:labels');
  });
});

describe('ranked classes encoding', () => {
  it('round-trips indices and float64 scores exactly, in the backend’s order', () => {
    const value = ranked([
      [281, 0.612345678912],
      [7, 0.2],
      [3, 0.2],
      [999, 1e-300],
    ]);
    const bytes = encodeRanked(value);
    expect(bytes.byteLength).toBe(4 * 12);
    const back = decodeRanked(bytes, rankedMetadata(value));
    expect(Array.from(back?.indices ?? [])).toEqual([281, 7, 3, 999]);
    expect(Array.from(back?.scores ?? [])).toEqual([0.612345678912, 0.2, 0.2, 1e-300]);
  });

  it('keeps whether an entry holds every class through its metadata', () => {
    expect(rankedMetadata(deep(10))).toEqual({ classes: 10, complete: false });
    expect(decodeRanked(encodeRanked(deep(4, true)), rankedMetadata(deep(4, true)))?.complete).toBe(true);
    expect(decodeRanked(encodeRanked(deep(4)), rankedMetadata(deep(4)))?.complete).toBe(false);
  });

  it('writes little-endian uint32 indices, then float64 scores', () => {
    const view = new DataView(encodeRanked(ranked([[258, 0.5]])).buffer);
    expect(view.getUint32(0, true)).toBe(258);
    expect(view.getFloat64(4, true)).toBe(0.5);
  });

  it.each([
    ['a size that does not match the class count', new Uint8Array(25), { classes: 2, complete: false }],
    ['no class count', new Uint8Array(24), null],
    ['a malformed class count', new Uint8Array(24), { classes: '2', complete: false }],
    ['no completeness flag', new Uint8Array(24), { classes: 2 }],
  ])('refuses an entry with %s', (_, bytes, metadata) => {
    expect(decodeRanked(bytes, metadata)).toBeUndefined();
  });
});

describe('answersTopK', () => {
  it('answers every top_k up to the entry’s depth and none beyond it', () => {
    expect(answersTopK(deep(10), 1)).toBe(true);
    expect(answersTopK(deep(10), 10)).toBe(true);
    expect(answersTopK(deep(10), 11)).toBe(false);
  });

  it('answers any top_k from an entry that holds every class', () => {
    expect(answersTopK(deep(4, true), CLASSIFY_MAX_TOP_K)).toBe(true);
  });
});

describe('ClassificationCache', () => {
  it('stores an image’s ranking in KV with its depth, readable by a cold isolate', async () => {
    const warm = cache();
    const key = classificationKey(MODEL, crypto.randomUUID());
    warm.cache.set(key, ranked([
      [1, 0.75],
      [0, 0.25],
    ]));
    await warm.flush();
    expect((await env.CACHE.getWithMetadata(key, 'arrayBuffer')).metadata).toEqual({ classes: 2, complete: false });

    const cold = cache();
    const [entry] = await cold.cache.getMany([key]);
    expect(Array.from(entry?.indices ?? [])).toEqual([1, 0]);
    expect(Array.from(entry?.scores ?? [])).toEqual([0.75, 0.25]);
    expect(cold.lrus.ranked.get(key)).toBeDefined();
  });

  it('replaces a shallower ranking with a deeper one, in the isolate and in KV', async () => {
    const c = cache();
    const key = classificationKey(MODEL, crypto.randomUUID());
    c.cache.set(key, deep(10));
    await c.flush();
    c.cache.set(key, deep(250));
    await c.flush();
    expect((await c.cache.getMany([key]))[0]?.indices.length).toBe(250);
    expect((await env.CACHE.getWithMetadata(key, 'arrayBuffer')).metadata).toEqual({ classes: 250, complete: false });
  });

  it('keeps a deeper ranking the isolate holds when a shallower one arrives later', async () => {
    const c = cache();
    const key = classificationKey(MODEL, crypto.randomUUID());
    c.cache.set(key, deep(250));
    await c.flush();
    c.cache.set(key, deep(10));
    c.cache.set(key, ranked([[0, 1]], false));
    await c.flush();
    expect((await c.cache.getMany([key]))[0]?.indices.length).toBe(250);
    expect((await env.CACHE.getWithMetadata(key, 'arrayBuffer')).metadata).toEqual({ classes: 250, complete: false });
  });

  it('keeps a ranking of every class over any later one', async () => {
    const c = cache();
    const key = classificationKey(MODEL, crypto.randomUUID());
    c.cache.set(key, deep(4, true));
    c.cache.set(key, deep(10));
    await c.flush();
    expect((await c.cache.getMany([key]))[0]?.complete).toBe(true);
  });

  it('stores a model revision’s label table, readable by a cold isolate', async () => {
    const model = { ...MODEL, revision: crypto.randomUUID().replaceAll('-', '') };
    const warm = cache();
    warm.cache.setLabels(
      model,
      new Map([
        [0, 'tench, Tinca tinca'],
        [1, 'goldfish'],
      ]),
    );
    await warm.flush();
    const labels = await cache().cache.labels(model);
    expect([...(labels ?? [])]).toEqual([
      [0, 'tench, Tinca tinca'],
      [1, 'goldfish'],
    ]);
  });

  it('reads a malformed label table as absent', async () => {
    const model = { ...MODEL, revision: crypto.randomUUID().replaceAll('-', '') };
    await env.CACHE.put(labelTableKey(model), '{"0":"tench"}');
    expect(await cache().cache.labels(model)).toBeUndefined();
  });
});

describe('classification LRUs', () => {
  it('are bounded in entries', () => {
    expect(newClassificationLrus().ranked.max).toBe(CLASSIFICATION_LRU_ENTRIES);
  });

  it('evicts the least recently used ranking beyond the bound', () => {
    const lrus = newClassificationLrus(2);
    for (const key of ['a', 'b', 'c']) lrus.ranked.set(key, ranked([[0, 1]]));
    expect(lrus.ranked.get('a')).toBeUndefined();
    expect(lrus.ranked.size).toBe(2);
  });
});

describe('CLASSIFY_MAX_TOP_K', () => {
  it('is the largest top_k the API accepts', () => {
    expect(TopKSchema.safeParse(CLASSIFY_MAX_TOP_K).success).toBe(true);
    expect(TopKSchema.safeParse(CLASSIFY_MAX_TOP_K + 1).success).toBe(false);
    expect(ClassifyRequestSchema.safeParse({ image: { base64: 'AA==' }, top_k: CLASSIFY_MAX_TOP_K }).success).toBe(true);
    expect(ClassifyRequestSchema.safeParse({ image: { base64: 'AA==' }, top_k: CLASSIFY_MAX_TOP_K + 1 }).success).toBe(false);
  });
});

describe('vitModelOf', () => {
  const info = (models: BackendModels['models'], test_models = true): BackendModels => ({ device: 'cpu', test_models, models });

  it('picks the image-classification model with its revision', () => {
    const models = info([
      { id: 'align-base', task: 'zero-shot-image-classification', revision: 'aaaaaaaaaaaaaaaa' },
      { id: 'vit-large-patch16-384', task: 'image-classification', revision: 'bbbbbbbbbbbbbbbb', num_labels: 1000 },
    ]);
    expect(vitModelOf(models)).toEqual({ id: 'vit-large-patch16-384', testModels: true, revision: 'bbbbbbbbbbbbbbbb', numLabels: 1000 });
  });

  it('leaves the revision and class count absent for an older backend', () => {
    expect(vitModelOf(info([{ id: 'vit-large-patch16-384', task: 'image-classification' }], false))).toEqual({ id: 'vit-large-patch16-384', testModels: false });
  });

  it('is a backend error when no classifier is served', () => {
    const pick = () => vitModelOf(info([{ id: 'align-base', task: 'zero-shot-image-classification' }]));
    expect(pick).toThrow(ProblemError);
    expect(pick).toThrow('does not serve an image-classification model');
  });
});

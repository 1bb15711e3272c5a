import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { EmbeddingCache, embeddingKey, type CachedEmbedding } from './embedding-cache';
import { isolateLru } from './kv-lru-cache';

function cache(lru = isolateLru<CachedEmbedding>(16)) {
  const pending: Promise<unknown>[] = [];
  const c = new EmbeddingCache({ store: env.CACHE, lru, ttlSeconds: 3600, defer: (p) => void pending.push(p) });
  return { cache: c, lru, flush: () => Promise.all(pending) };
}

describe('EmbeddingCache', () => {
  it('keys by model, revision, content kind and hash', () => {
    expect(embeddingKey({ id: 'align-base', testModels: false, revision: '0123456789abcdef' }, 'img', 'ab')).toBe('emb:v2:align-base:0123456789abcdef:img:ab');
    expect(embeddingKey({ id: 'align-base', testModels: true, revision: 'fedcba9876543210' }, 'txt', 'cd')).toBe('emb:v2:align-base:fedcba9876543210:txt:cd');
  });

  it('keys by weights kind when an older backend reports no revision', () => {
    expect(embeddingKey({ id: 'align-base', testModels: false }, 'img', 'ab')).toBe('emb:v2:align-base:real:img:ab');
    expect(embeddingKey({ id: 'align-base', testModels: true }, 'txt', 'cd')).toBe('emb:v2:align-base:test:txt:cd');
  });

  it('stores compact little-endian float32 bytes with the dim and tokens as metadata', async () => {
    const { cache: c, flush } = cache();
    const key = `emb:v1:test:${crypto.randomUUID()}`;
    c.set(key, { vector: Float32Array.from([1, 2, 3]), tokens: 7 });
    await flush();
    const { value, metadata } = await env.CACHE.getWithMetadata(key, 'arrayBuffer');
    if (value === null) throw new Error('nothing stored');
    expect(value.byteLength).toBe(12);
    expect(new DataView(value).getFloat32(4, true)).toBe(2);
    expect(metadata).toEqual({ dim: 3, tokens: 7 });
  });

  it('reads back from KV when the isolate cache is cold', async () => {
    const first = cache();
    const key = `emb:v1:test:${crypto.randomUUID()}`;
    first.cache.set(key, { vector: Float32Array.from([0.5, -1]), tokens: 3 });
    await first.flush();
    const cold = cache();
    const [entry] = await cold.cache.getMany([key], 2);
    expect(Array.from(entry?.vector ?? [])).toEqual([0.5, -1]);
    expect(entry?.tokens).toBe(3);
    expect(cold.lru.get(key)).toBeDefined();
  });

  it('serves the isolate cache without KV', async () => {
    const { cache: c } = cache();
    const key = `emb:v1:test:${crypto.randomUUID()}`;
    c.set(key, { vector: Float32Array.from([1]) });
    expect(await env.CACHE.get(key)).toBeNull();
    const [entry] = await c.getMany([key], 1);
    expect(entry?.vector[0]).toBe(1);
  });

  it('reads an entry of the wrong size as a miss', async () => {
    const key = `emb:v1:test:${crypto.randomUUID()}`;
    await env.CACHE.put(key, new Uint8Array(10), { metadata: { dim: 640 } });
    const [entry] = await cache().cache.getMany([key], 640);
    expect(entry).toBeUndefined();
  });
});

import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { CacheTally, firstMisses, isolateLru, KvLruCache, type CacheStore } from './kv-lru-cache';

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function cache(store: CacheStore = env.CACHE, lru = isolateLru<string>(8)) {
  const pending: Promise<unknown>[] = [];
  const c = new KvLruCache<string>({ store, lru, ttlSeconds: 3600, defer: (p) => void pending.push(p), name: 'test' });
  return { cache: c, lru, flush: () => Promise.all(pending) };
}

describe('isolateLru', () => {
  it('evicts the least recently used entry beyond its bound', () => {
    const lru = isolateLru<number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.get('a');
    lru.set('c', 3);
    expect(lru.get('b')).toBeUndefined();
    expect(lru.get('a')).toBe(1);
    expect(lru.get('c')).toBe(3);
    expect(lru.size).toBe(2);
  });

  it('refuses a bound that is not a positive integer', () => {
    expect(() => isolateLru(0)).toThrow(RangeError);
    expect(() => isolateLru(1.5)).toThrow(RangeError);
  });
});

describe('KvLruCache', () => {
  it('writes KV only when the deferred work runs, and the LRU at once', async () => {
    const { cache: c, lru, flush } = cache();
    const key = `test:${crypto.randomUUID()}`;
    c.set(key, 'value', new TextEncoder().encode('value'), { size: 5 });
    expect(lru.get(key)).toBe('value');
    expect(await env.CACHE.get(key)).toBeNull();
    await flush();
    const stored = await env.CACHE.getWithMetadata(key, 'text');
    expect(stored).toMatchObject({ value: 'value', metadata: { size: 5 } });
  });

  it('decodes a KV entry with its metadata and keeps it in the LRU', async () => {
    const key = `test:${crypto.randomUUID()}`;
    await env.CACHE.put(key, 'from kv', { metadata: { tag: 'x' } });
    const { cache: c, lru } = cache();
    const [value] = await c.getMany([key], (bytes, metadata) => `${text(bytes)}/${JSON.stringify(metadata)}`);
    expect(value).toBe('from kv/{"tag":"x"}');
    expect(lru.get(key)).toBe(value);
  });

  it('reads an entry its decoder refuses as a miss and does not keep it', async () => {
    const key = `test:${crypto.randomUUID()}`;
    await env.CACHE.put(key, 'corrupt');
    const { cache: c, lru } = cache();
    expect(await c.getMany([key], () => undefined)).toEqual([undefined]);
    expect(lru.get(key)).toBeUndefined();
  });

  it('reads a failing store as a miss', async () => {
    const failing: CacheStore = {
      getWithMetadata: () => Promise.reject(new Error('KV is down')),
      put: () => Promise.reject(new Error('KV is down')),
    };
    const { cache: c, flush } = cache(failing);
    expect(await c.getMany(['a', 'b'], text)).toEqual([undefined, undefined]);
    c.set('a', 'kept in the isolate', new Uint8Array(1));
    await expect(flush()).resolves.toBeDefined();
    expect(await c.getMany(['a'], text)).toEqual(['kept in the isolate']);
  });
});

describe('firstMisses', () => {
  it('lists the first position of each missing key once, in order', () => {
    expect(firstMisses(['a', 'b', 'a', 'c', 'b'], [undefined, 1, undefined, undefined, 1])).toEqual([0, 3]);
  });

  it('lists nothing when every key was found', () => {
    expect(firstMisses(['a', 'b'], [0, ''])).toEqual([]);
  });
});

describe('CacheTally', () => {
  it('says hit, miss or partial over every look-up counted, and starts again after reset', () => {
    const tally = new CacheTally();
    expect(tally.status, 'nothing looked up: nothing missed').toBe('hit');
    tally.count([{}, {}]);
    expect(tally.status).toBe('hit');
    tally.count([undefined]);
    expect(tally.status).toBe('partial');
    tally.reset();
    tally.count([undefined, undefined]);
    expect(tally.status).toBe('miss');
  });
});

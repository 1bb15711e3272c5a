import { describe, expect, it } from 'vitest';
import type { BackendModels } from './backend-client';
import { MODEL_INFO_KEY, ModelInfoCache, type ModelInfoStore } from './model-info';

function memoryStore(): ModelInfoStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    get: async (key) => data.get(key) ?? null,
    put: async (key, value) => {
      data.set(key, value);
    },
    delete: async (key) => {
      data.delete(key);
    },
  };
}

function info(revision: string): BackendModels {
  return {
    device: 'cpu',
    test_models: true,
    models: [{ id: 'align-base', task: 'zero-shot-image-classification', embedding_dim: 640, temperature: 0.05, revision }],
  } as BackendModels;
}

describe('ModelInfoCache', () => {
  it('does not let a fresh isolate keep KV model info past the TTL of the first load', async () => {
    let now = 1_000_000;
    const store = memoryStore();
    const pending: Promise<unknown>[] = [];
    const defer = (p: Promise<unknown>) => void pending.push(p);
    let loads = 0;
    const load = async () => info(`${++loads}`.padStart(16, 'a'));

    const first = new ModelInfoCache({ ttlSeconds: 300, now: () => now });
    expect((await first.get(store, load, defer)).models[0]?.revision).toBe('aaaaaaaaaaaaaaa1');
    await Promise.all(pending);
    expect(store.data.has(MODEL_INFO_KEY)).toBe(true);

    // 250 s later another isolate reads the KV copy; 100 s after that (350 s after the load) the copy
    // is older than the TTL, so it must go back to the backend rather than trust its own 300 s memo.
    now += 250_000;
    const second = new ModelInfoCache({ ttlSeconds: 300, now: () => now });
    expect((await second.get(store, load, defer)).models[0]?.revision).toBe('aaaaaaaaaaaaaaa1');
    now += 100_000;
    expect((await second.get(store, load, defer)).models[0]?.revision).toBe('aaaaaaaaaaaaaaa2');
    expect(loads).toBe(2);
  });

  it('ignores a KV entry that is older than the TTL even when KV still returns it', async () => {
    const now = 5_000_000;
    const store = memoryStore();
    store.data.set(MODEL_INFO_KEY, JSON.stringify({ loaded_at: now - 301_000, info: info('0000000000000000') }));
    const cache = new ModelInfoCache({ ttlSeconds: 300, now: () => now });
    const got = await cache.get(store, async () => info('1111111111111111'), () => undefined);
    expect(got.models[0]?.revision).toBe('1111111111111111');
  });
});

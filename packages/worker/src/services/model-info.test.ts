import { describe, expect, it } from 'vitest';
import { rejectionProblem } from '../../test/helpers';
import { ModelChangedError, type BackendModels } from './backend-client';
import { MODEL_INFO_KEY, ModelInfoCache, withCurrentModel, type ModelInfoSource, type ModelInfoStore } from './model-info';

function memoryStore(): ModelInfoStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    get: (key) => Promise.resolve(data.get(key) ?? null),
    put: (key, value) => {
      data.set(key, value);
      return Promise.resolve();
    },
    delete: (key) => {
      data.delete(key);
      return Promise.resolve();
    },
  };
}

function info(revision: string): BackendModels {
  return {
    device: 'cpu',
    test_models: true,
    models: [{ id: 'align-base', task: 'zero-shot-image-classification', embedding_dim: 640, temperature: 0.05, revision }],
  };
}

describe('ModelInfoCache', () => {
  it('does not let a fresh isolate keep KV model info past the TTL of the first load', async () => {
    let now = 1_000_000;
    const store = memoryStore();
    const pending: Promise<unknown>[] = [];
    const defer = (p: Promise<unknown>) => void pending.push(p);
    let loads = 0;
    const load = () => Promise.resolve(info(`${++loads}`.padStart(16, 'a')));

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
    const got = await cache.get(store, () => Promise.resolve(info('1111111111111111')), () => undefined);
    expect(got.models[0]?.revision).toBe('1111111111111111');
  });
});

describe('withCurrentModel', () => {
  const revisionOf = (i: BackendModels) => i.models[0]?.revision ?? '';

  /** A backend whose served revision the test moves; it counts model-info loads and retries. */
  function backend() {
    const store = memoryStore();
    const state = { revision: 'aaaaaaaaaaaaaaaa', loads: 0, retries: 0 };
    const source: ModelInfoSource = {
      modelInfo: new ModelInfoCache({ ttlSeconds: 300 }),
      modelInfoStore: store,
      load: () => {
        state.loads += 1;
        return Promise.resolve(info(state.revision));
      },
      defer: () => undefined,
    };
    /** Runs `work` (by default: work that fails as an answer from other weights would). */
    const run = (work = (revision: string): Promise<string> => {
      if (revision !== state.revision) return Promise.reject(new ModelChangedError({ id: 'align-base', revision }, { id: 'align-base', revision: state.revision }));
      return Promise.resolve(`answered with ${revision}`);
    }) =>
      withCurrentModel(source, revisionOf, work, () => {
        state.retries += 1;
      });
    return { store, state, run };
  }

  it('runs the work once with the cached model info when the weights did not change', async () => {
    const { state, run } = backend();
    expect(await run()).toBe('answered with aaaaaaaaaaaaaaaa');
    expect(await run()).toBe('answered with aaaaaaaaaaaaaaaa');
    expect(state).toMatchObject({ loads: 1, retries: 0 });
  });

  it('runs the work again with model info loaded afresh after a change, and keeps that info', async () => {
    const { store, state, run } = backend();
    await run();
    state.revision = 'bbbbbbbbbbbbbbbb';
    expect(await run()).toBe('answered with bbbbbbbbbbbbbbbb');
    expect(state).toMatchObject({ loads: 2, retries: 1 });
    expect(store.data.get(MODEL_INFO_KEY)).toContain('bbbbbbbbbbbbbbbb');
    expect(await run()).toBe('answered with bbbbbbbbbbbbbbbb');
    expect(state.loads).toBe(2);
  });

  it('answers 503 with Retry-After when the weights differ again after the refresh', async () => {
    const { state, run } = backend();
    const problem = await rejectionProblem(
      run((revision) => Promise.reject(new ModelChangedError({ id: 'align-base', revision }, { id: 'align-base', revision: 'cccccccccccccccc' }))),
    );
    expect(problem.slug).toBe('backend_unavailable');
    expect(problem.headers).toEqual({ 'retry-after': '1' });
    expect(state).toMatchObject({ loads: 2, retries: 1 });
  });

  it('passes any other failure through without reloading the model info', async () => {
    const { state, run } = backend();
    await expect(run(() => Promise.reject(new Error('backend down')))).rejects.toThrow('backend down');
    expect(state).toMatchObject({ loads: 1, retries: 0 });
  });
});

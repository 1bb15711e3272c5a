/**
 * Caches what the backend serves (`GET /v1/models`: model ids, dims, ALIGN's learned temperature) in
 * the isolate and in KV, so a request whose embeddings are all cached never touches the backend.
 */
import { z } from 'zod';
import { ProblemError } from '../errors';
import { BackendModelsSchema, ModelChangedError, type BackendModels } from './backend-client';

/** The facts zero-shot scoring needs about the ALIGN model. */
export interface AlignModel {
  id: string;
  dim: number;
  temperature: number;
  testModels: boolean;
  /** Content hash of the served weights; absent from an older backend. */
  revision?: string;
}

/** The facts the classification cache needs about the ViT model: what keys its answers, how many classes. */
export interface VitModel {
  id: string;
  testModels: boolean;
  /** Content hash of the served weights and labels; absent from an older backend. */
  revision?: string;
  /** How many classes the model ranks (its `num_labels`); absent when the backend does not say. */
  numLabels?: number;
}

/** The part of a KV namespace the model-info cache uses. */
export interface ModelInfoStore {
  get(key: string, type: 'text'): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

export const MODEL_INFO_KEY = 'models:v2';

/**
 * The KV entry: the info and when it was loaded from the backend. An isolate that reads it keeps it only
 * until `loaded_at + ttl`, so no copy outlives the TTL of the first load (a re-read would otherwise
 * restart the clock, and KV's own expiry can lag by up to a minute).
 */
const StoredModelInfoSchema = z.object({ loaded_at: z.number(), info: BackendModelsSchema });

export interface ModelInfoCacheOptions {
  ttlSeconds: number;
  now?: (() => number) | undefined;
}

/** Picks the ALIGN model out of the backend's list; a backend without it is a contract failure. */
export function alignModelOf(info: BackendModels): AlignModel {
  const align = info.models.find((m) => m.task === 'zero-shot-image-classification') ?? info.models.find((m) => m.id.startsWith('align'));
  if (!align || align.embedding_dim === undefined || align.temperature === undefined) {
    throw new ProblemError('backend_error', 'the inference backend does not serve an ALIGN model with a dim and temperature');
  }
  return {
    id: align.id,
    dim: align.embedding_dim,
    temperature: align.temperature,
    testModels: info.test_models,
    ...(align.revision === undefined ? {} : { revision: align.revision }),
  };
}

/** Picks the ViT classifier out of the backend's list; a backend without it is a contract failure. */
export function vitModelOf(info: BackendModels): VitModel {
  const vit = info.models.find((m) => m.task === 'image-classification') ?? info.models.find((m) => m.id.startsWith('vit'));
  if (!vit) throw new ProblemError('backend_error', 'the inference backend does not serve an image-classification model');
  return {
    id: vit.id,
    testModels: info.test_models,
    ...(vit.revision === undefined ? {} : { revision: vit.revision }),
    ...(vit.num_labels === undefined ? {} : { numLabels: vit.num_labels }),
  };
}

/** Where one request gets the backend's model info: the app's cache, KV, else the backend. */
export interface ModelInfoSource {
  modelInfo: ModelInfoCache;
  modelInfoStore: ModelInfoStore;
  /** Asks the backend for its models (`GET /v1/models`), on a cold cache and after a change. */
  load: () => Promise<BackendModels>;
  /** Runs KV writes after the response (`ctx.waitUntil`). */
  defer: (work: Promise<unknown>) => void;
}

/**
 * Runs `work` with the model `pick` chooses from the cached model info. When a backend answer shows
 * the weights changed under that info (`work` throws {@link ModelChangedError}), forgets the info
 * (isolate and KV), reloads it and runs `work` once more from scratch, so no answer mixes outputs of
 * two weight sets and no cache key names the wrong ones. A second change within the request (replicas
 * mid-rollout) is a 503 with `Retry-After`: shortly, one weight set will answer. `onRetry` runs before
 * the second attempt, for per-attempt state such as cache hit counts.
 */
export async function withCurrentModel<M, T>(
  source: ModelInfoSource,
  pick: (info: BackendModels) => M,
  work: (model: M) => Promise<T>,
  onRetry?: () => void,
): Promise<T> {
  const { modelInfo, modelInfoStore, load, defer } = source;
  const current = async (fresh: boolean) => pick(await modelInfo.get(modelInfoStore, load, defer, fresh));
  try {
    return await work(await current(false));
  } catch (err) {
    if (!(err instanceof ModelChangedError)) throw err;
    console.warn(JSON.stringify({ level: 'warn', message: 'backend model changed; reloading model info', expected: err.expected, answered: err.answered }));
  }
  await modelInfo.invalidate(modelInfoStore);
  onRetry?.();
  const fresh = await current(true);
  try {
    return await work(fresh);
  } catch (err) {
    if (!(err instanceof ModelChangedError)) throw err;
    throw new ProblemError('backend_unavailable', `the inference backend changed models during the request (${err.message}); retry`, {
      headers: { 'retry-after': '1' },
    });
  }
}

/** Lives as long as the app (one per isolate); KV makes a fresh isolate warm too. */
export class ModelInfoCache {
  readonly #ttlMs: number;
  readonly #ttlSeconds: number;
  readonly #now: () => number;
  #memo: { info: BackendModels; expires: number } | undefined;
  #inflight: Promise<BackendModels> | undefined;
  /** Bumped by {@link invalidate}, so loads that began before it are not stored. */
  #generation = 0;

  constructor({ ttlSeconds, now = Date.now }: ModelInfoCacheOptions) {
    this.#ttlSeconds = ttlSeconds;
    this.#ttlMs = ttlSeconds * 1000;
    this.#now = now;
  }

  /**
   * Returns the model info from the isolate, else KV, else `load()` (one load at a time per isolate),
   * storing what it loads. `fresh` skips the caches, for `/v1/models`, which reports live state.
   */
  async get(store: ModelInfoStore, load: () => Promise<BackendModels>, defer: (work: Promise<unknown>) => void, fresh = false): Promise<BackendModels> {
    if (!fresh && this.#memo && this.#memo.expires > this.#now()) return this.#memo.info;
    const generation = this.#generation;
    if (!fresh) {
      const stored = await readStored(store);
      const expires = stored ? stored.loaded_at + this.#ttlMs : 0;
      if (stored && expires > this.#now()) {
        if (generation === this.#generation) this.#memo = { info: stored.info, expires };
        return stored.info;
      }
    }
    if (!this.#inflight) {
      const loading = load().finally(() => {
        if (this.#inflight === loading) this.#inflight = undefined;
      });
      this.#inflight = loading;
    }
    const info = await this.#inflight;
    // Info loaded before an invalidation may describe the old weights: hand it to this caller only.
    if (generation !== this.#generation) return info;
    const loadedAt = this.#now();
    this.#memo = { info, expires: loadedAt + this.#ttlMs };
    const entry: z.infer<typeof StoredModelInfoSchema> = { loaded_at: loadedAt, info };
    defer(
      store.put(MODEL_INFO_KEY, JSON.stringify(entry), { expirationTtl: this.#ttlSeconds }).catch((err: unknown) => {
        console.warn(JSON.stringify({ level: 'warn', message: 'model info cache write failed', error: String(err) }));
      }),
    );
    return info;
  }

  /**
   * Forgets the model info here and in KV: the backend has been seen serving other weights, so neither
   * this isolate nor a fresh one may key embeddings by the old info. A load in flight is dropped too, as
   * it may have started before the change.
   */
  async invalidate(store: ModelInfoStore): Promise<void> {
    this.#memo = undefined;
    this.#inflight = undefined;
    this.#generation += 1;
    try {
      await store.delete(MODEL_INFO_KEY);
    } catch (err) {
      console.warn(JSON.stringify({ level: 'warn', message: 'model info cache delete failed', error: String(err) }));
    }
  }
}

async function readStored(store: ModelInfoStore): Promise<z.infer<typeof StoredModelInfoSchema> | undefined> {
  try {
    const text = await store.get(MODEL_INFO_KEY, 'text');
    if (text === null) return undefined;
    const parsed = StoredModelInfoSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

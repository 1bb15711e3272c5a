/**
 * Caches what the backend serves (`GET /v1/models`: model ids, dims, ALIGN's learned temperature) in
 * the isolate and in KV, so a request whose embeddings are all cached never touches the backend.
 */
import { ProblemError } from '../errors';
import { BackendModelsSchema, type BackendModels } from './backend-client';

/** The facts zero-shot scoring needs about the ALIGN model. */
export interface AlignModel {
  id: string;
  dim: number;
  temperature: number;
  testModels: boolean;
}

/** The part of a KV namespace the model-info cache uses. */
export interface ModelInfoStore {
  get(key: string, type: 'text'): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
}

export const MODEL_INFO_KEY = 'models:v1';

export interface ModelInfoCacheOptions {
  ttlSeconds: number;
  now?: () => number;
}

/** Picks the ALIGN model out of the backend's list; a backend without it is a contract failure. */
export function alignModelOf(info: BackendModels): AlignModel {
  const align = info.models.find((m) => m.task === 'zero-shot-image-classification') ?? info.models.find((m) => m.id.startsWith('align'));
  if (!align || align.embedding_dim === undefined || align.temperature === undefined) {
    throw new ProblemError('backend_error', 'the inference backend does not serve an ALIGN model with a dim and temperature');
  }
  return { id: align.id, dim: align.embedding_dim, temperature: align.temperature, testModels: info.test_models };
}

/** Lives as long as the app (one per isolate); KV makes a fresh isolate warm too. */
export class ModelInfoCache {
  readonly #ttlMs: number;
  readonly #ttlSeconds: number;
  readonly #now: () => number;
  #memo: { info: BackendModels; expires: number } | undefined;
  #inflight: Promise<BackendModels> | undefined;

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
    if (!fresh) {
      const stored = await readStored(store);
      if (stored) {
        this.#memo = { info: stored, expires: this.#now() + this.#ttlMs };
        return stored;
      }
    }
    this.#inflight ??= load().finally(() => {
      this.#inflight = undefined;
    });
    const info = await this.#inflight;
    this.#memo = { info, expires: this.#now() + this.#ttlMs };
    defer(
      store.put(MODEL_INFO_KEY, JSON.stringify(info), { expirationTtl: this.#ttlSeconds }).catch((err: unknown) => {
        console.warn(JSON.stringify({ level: 'warn', message: 'model info cache write failed', error: String(err) }));
      }),
    );
    return info;
  }
}

async function readStored(store: ModelInfoStore): Promise<BackendModels | undefined> {
  try {
    const text = await store.get(MODEL_INFO_KEY, 'text');
    if (text === null) return undefined;
    const parsed = BackendModelsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

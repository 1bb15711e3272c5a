/**
 * Two-level cache of embeddings: a small LRU in the isolate in front of KV. Image embeddings are keyed
 * by (model, SHA-256 of the image bytes), text embeddings by (model, SHA-256 of the exact text), so
 * identical content costs one backend pass ever, whichever user sent it. Values are stored as compact
 * little-endian float32 bytes (2.5 KB for ALIGN's 640 dims) with the dim in KV metadata.
 */
import { bytesToFloat32, float32ToBytes } from './encoding';
import type { Lru } from './lru';

/** A cached embedding; text entries also remember their token count for `usage`. */
export interface CachedEmbedding {
  vector: Float32Array;
  tokens?: number;
}

/** The part of a KV namespace the cache uses, so any KV-like store fits. */
export interface EmbeddingStore {
  getWithMetadata<M>(key: string, type: 'arrayBuffer'): Promise<{ value: ArrayBuffer | null; metadata: M | null }>;
  put(key: string, value: ArrayBuffer | ArrayBufferView, options?: { expirationTtl?: number; metadata?: unknown }): Promise<void>;
}

interface EmbeddingMetadata {
  dim?: unknown;
  tokens?: unknown;
}

/**
 * Identifies the weights an embedding came from. The backend's revision (a content hash of the model
 * files) tells weight sets apart, so replacing the weights starts a fresh key space instead of serving
 * the old weights' embeddings for the cache TTL. An older backend sends no revision; then test weights
 * at least never share keys with real ones.
 */
export interface ModelKey {
  id: string;
  testModels: boolean;
  revision?: string;
}

/** The cache key of an embedding: `emb:v2:<model>:<revision, else real|test>:<img|txt>:<sha256>`. */
export function embeddingKey(model: ModelKey, kind: 'img' | 'txt', sha256: string): string {
  return `emb:v2:${model.id}:${model.revision ?? (model.testModels ? 'test' : 'real')}:${kind}:${sha256}`;
}

export interface EmbeddingCacheOptions {
  store: EmbeddingStore;
  lru: Lru<CachedEmbedding>;
  ttlSeconds: number;
  /** Runs KV writes after the response (`ctx.waitUntil`); the LRU is written at once. */
  defer: (work: Promise<unknown>) => void;
}

export class EmbeddingCache {
  readonly #store: EmbeddingStore;
  readonly #lru: Lru<CachedEmbedding>;
  readonly #ttlSeconds: number;
  readonly #defer: (work: Promise<unknown>) => void;

  constructor({ store, lru, ttlSeconds, defer }: EmbeddingCacheOptions) {
    this.#store = store;
    this.#lru = lru;
    this.#ttlSeconds = ttlSeconds;
    this.#defer = defer;
  }

  /**
   * Looks up every key (LRU first, then KV in parallel); a KV failure or a corrupt entry reads as a
   * miss, because the backend can always recompute an embedding.
   */
  async getMany(keys: readonly string[], expectedDim: number): Promise<(CachedEmbedding | undefined)[]> {
    return Promise.all(
      keys.map(async (key) => {
        const hot = this.#lru.get(key);
        if (hot) return hot;
        try {
          const { value, metadata } = await this.#store.getWithMetadata<EmbeddingMetadata>(key, 'arrayBuffer');
          if (value === null) return undefined;
          if (value.byteLength !== expectedDim * 4 || (metadata?.dim !== undefined && metadata.dim !== expectedDim)) return undefined;
          const entry: CachedEmbedding = { vector: bytesToFloat32(new Uint8Array(value)) };
          if (typeof metadata?.tokens === 'number') entry.tokens = metadata.tokens;
          this.#lru.set(key, entry);
          return entry;
        } catch (err) {
          console.warn(JSON.stringify({ level: 'warn', message: 'embedding cache read failed', key, error: String(err) }));
          return undefined;
        }
      }),
    );
  }

  /** Stores an embedding: in the LRU now, in KV after the response. */
  set(key: string, entry: CachedEmbedding): void {
    this.#lru.set(key, entry);
    const metadata: { dim: number; tokens?: number } = { dim: entry.vector.length };
    if (entry.tokens !== undefined) metadata.tokens = entry.tokens;
    this.#defer(
      this.#store.put(key, float32ToBytes(entry.vector), { expirationTtl: this.#ttlSeconds, metadata }).catch((err: unknown) => {
        console.warn(JSON.stringify({ level: 'warn', message: 'embedding cache write failed', key, error: String(err) }));
      }),
    );
  }
}

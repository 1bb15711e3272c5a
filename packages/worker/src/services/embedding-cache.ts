/**
 * Two-level cache of embeddings (isolate LRU + KV, `kv-lru-cache.ts`). Image embeddings are keyed by
 * (model, SHA-256 of the image bytes), text embeddings by (model, SHA-256 of the exact text), so
 * identical content costs one backend pass ever, whichever user sent it. Values are stored as compact
 * little-endian float32 bytes (2.5 KB for ALIGN's 640 dims) with the dim in KV metadata.
 */
import { bytesToFloat32, float32ToBytes } from './encoding';
import { KvLruCache, type CacheStore, type IsolateLru } from './kv-lru-cache';

/** A cached embedding; text entries also remember their token count for `usage`. */
export interface CachedEmbedding {
  vector: Float32Array;
  tokens?: number;
}

/** The part of a KV namespace the cache uses, so any KV-like store fits. */
export type EmbeddingStore = CacheStore;

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

/**
 * The part of a cache key that names the weights: `<model>:<revision, else real|test>`. Every cache of
 * model outputs keys by it, so new weights never read what old ones computed.
 */
export function modelScope(model: ModelKey): string {
  return `${model.id}:${model.revision ?? (model.testModels ? 'test' : 'real')}`;
}

/** The cache key of an embedding: `emb:v2:<model>:<revision, else real|test>:<img|txt>:<sha256>`. */
export function embeddingKey(model: ModelKey, kind: 'img' | 'txt', sha256: string): string {
  return `emb:v2:${modelScope(model)}:${kind}:${sha256}`;
}

export interface EmbeddingCacheOptions {
  store: EmbeddingStore;
  lru: IsolateLru<CachedEmbedding>;
  ttlSeconds: number;
  /** Runs KV writes after the response (`ctx.waitUntil`); the LRU is written at once. */
  defer: (work: Promise<unknown>) => void;
}

export class EmbeddingCache {
  readonly #cache: KvLruCache<CachedEmbedding>;

  constructor({ store, lru, ttlSeconds, defer }: EmbeddingCacheOptions) {
    this.#cache = new KvLruCache({ store, lru, ttlSeconds, defer, name: 'embedding' });
  }

  /**
   * Looks up every key (LRU first, then KV in parallel); a KV failure or an entry of another dim reads
   * as a miss, because the backend can always recompute an embedding.
   */
  getMany(keys: readonly string[], expectedDim: number): Promise<(CachedEmbedding | undefined)[]> {
    return this.#cache.getMany(keys, (bytes, metadata) => decodeEmbedding(bytes, metadata, expectedDim));
  }

  /** Stores an embedding: in the LRU now, in KV after the response. */
  set(key: string, entry: CachedEmbedding): void {
    const metadata: { dim: number; tokens?: number } = { dim: entry.vector.length };
    if (entry.tokens !== undefined) metadata.tokens = entry.tokens;
    this.#cache.set(key, entry, float32ToBytes(entry.vector), metadata);
  }
}

function decodeEmbedding(bytes: Uint8Array, metadata: unknown, expectedDim: number): CachedEmbedding | undefined {
  const meta = typeof metadata === 'object' && metadata !== null ? (metadata as { dim?: unknown; tokens?: unknown }) : {};
  if (bytes.byteLength !== expectedDim * 4 || (meta.dim !== undefined && meta.dim !== expectedDim)) return undefined;
  const entry: CachedEmbedding = { vector: bytesToFloat32(bytes) };
  if (typeof meta.tokens === 'number') entry.tokens = meta.tokens;
  return entry;
}

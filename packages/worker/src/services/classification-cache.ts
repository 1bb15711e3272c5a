/**
 * Edge cache of ViT classifications (isolate LRU + KV, `kv-lru-cache.ts`), keyed by (model id, model
 * revision, SHA-256 of the image bytes). An entry holds the image's best classes as the backend ranked
 * them, and its depth: how many it holds, and whether that is every class the model has. It answers
 * any `top_k` up to its depth (any at all when it holds every class) exactly as the backend would have,
 * because the backend's `top_k` list is a prefix of its deeper lists (ties by lower index).
 *
 * Entries store class indices and scores only: 12 bytes a class (120 B at the usual depth of 10, 12 KB
 * for all of ImageNet's 1,000). The index → label table is cached once per model revision beside them;
 * the revision hashes the model's config (its id2label), so a table never changes under one key.
 */
import { z } from 'zod';
import { modelScope, type ModelKey } from './embedding-cache';
import { isolateLru, KvLruCache, type CacheStore, type IsolateLru } from './kv-lru-cache';

/** One image's best classes, best first, as the backend ranked them (its order is kept, ties included). */
export interface RankedClasses {
  /** Class indices (the model's id2label keys), best first; their count is the entry's depth. */
  indices: Uint32Array;
  /** Softmax scores, same order, exactly as the backend sent them. */
  scores: Float64Array;
  /** Whether these are all the model's classes (the backend had fewer than it was asked for). */
  complete: boolean;
}

/** Class index → label of one model revision; what is known of it so far. */
export type ClassLabels = ReadonlyMap<number, string>;

/** The largest `top_k` the API accepts (`TopKSchema`), and the depth that ranks every ImageNet class. */
export const CLASSIFY_MAX_TOP_K = 1000;

/**
 * The fewest classes a miss asks the backend for: a miss asks for `max(top_k, CLASSIFY_CACHE_MIN_DEPTH)`,
 * so the usual small `top_k` values (the API's default is 5) share one entry, while an answer stays
 * about 1 KB of JSON to parse. Asking for all 1,000 classes would make each miss ≈ 80 KB and ≈ 1 ms of
 * worker CPU per image.
 */
export const CLASSIFY_CACHE_MIN_DEPTH = 10;

/** Whether the entry answers a request for `topK` classes: it is that deep, or holds every class. */
export function answersTopK(entry: RankedClasses, topK: number): boolean {
  return entry.complete || topK <= entry.indices.length;
}

/**
 * Classifications one isolate keeps: ≈ 120 B each at the usual depth, ≤ 12 KB at 1,000 classes, so at
 * most ~6 MB of the 128 MB.
 */
export const CLASSIFICATION_LRU_ENTRIES = 512;

/** Label tables one isolate keeps: one per model revision, so a handful covers a weights rollout. */
export const LABEL_TABLE_LRU_ENTRIES = 4;

/** The cache key of one image's classification: `cls:v1:<model>:<revision, else real|test>:img:<sha256>`. */
export function classificationKey(model: ModelKey, sha256: string): string {
  return `cls:v1:${modelScope(model)}:img:${sha256}`;
}

/** The cache key of a model revision's label table: `cls:v1:<model>:<revision, else real|test>:labels`. */
export function labelTableKey(model: ModelKey): string {
  return `cls:v1:${modelScope(model)}:labels`;
}

/** Little-endian bytes of an entry: every uint32 index, then every float64 score. */
export function encodeRanked({ indices, scores }: RankedClasses): Uint8Array<ArrayBuffer> {
  if (indices.length !== scores.length) throw new Error(`bug: ${indices.length} class indices for ${scores.length} scores`);
  const n = indices.length;
  const out = new Uint8Array(n * 12);
  const view = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    view.setUint32(i * 4, indices[i] ?? 0, true);
    view.setFloat64(n * 4 + i * 8, scores[i] ?? 0, true);
  }
  return out;
}

/** KV metadata of an entry: its depth, and whether that is every class (see {@link RankedClasses}). */
export function rankedMetadata({ indices, complete }: RankedClasses): RankedMetadata {
  return { classes: indices.length, complete };
}

/**
 * The inverse of {@link encodeRanked} with {@link rankedMetadata}; `undefined` unless the bytes hold
 * exactly `classes` classes and the metadata says whether they are all.
 */
export function decodeRanked(bytes: Uint8Array, metadata: unknown): RankedClasses | undefined {
  const parsed = RankedMetadataSchema.safeParse(metadata);
  if (!parsed.success) return undefined;
  const { classes: n, complete } = parsed.data;
  if (bytes.byteLength !== n * 12) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const indices = new Uint32Array(n);
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    indices[i] = view.getUint32(i * 4, true);
    scores[i] = view.getFloat64(n * 4 + i * 8, true);
  }
  return { indices, scores, complete };
}

const RankedMetadataSchema = z.object({ classes: z.int().nonnegative(), complete: z.boolean() });
type RankedMetadata = z.infer<typeof RankedMetadataSchema>;
/** A label table in KV: UTF-8 JSON of `[index, label]` pairs. */
const LabelTableSchema = z.array(z.tuple([z.int().nonnegative(), z.string()]));

function decodeLabels(bytes: Uint8Array): ClassLabels | undefined {
  try {
    const parsed = LabelTableSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    return parsed.success ? new Map(parsed.data) : undefined;
  } catch {
    return undefined;
  }
}

function encodeLabels(labels: ClassLabels): Uint8Array {
  return new TextEncoder().encode(JSON.stringify([...labels]));
}

/** The isolate-lived half of the cache: one pair of LRUs per app (in its runtime). */
export interface ClassificationLrus {
  ranked: IsolateLru<RankedClasses>;
  labels: IsolateLru<ClassLabels>;
}

/** Fresh, bounded LRUs for one app. */
export function newClassificationLrus(entries = CLASSIFICATION_LRU_ENTRIES): ClassificationLrus {
  return { ranked: isolateLru(entries), labels: isolateLru(LABEL_TABLE_LRU_ENTRIES) };
}

export interface ClassificationCacheOptions {
  store: CacheStore;
  lrus: ClassificationLrus;
  ttlSeconds: number;
  /** Runs KV writes after the response (`ctx.waitUntil`); the LRUs are written at once. */
  defer: (work: Promise<unknown>) => void;
}

export class ClassificationCache {
  readonly #rankedLru: IsolateLru<RankedClasses>;
  readonly #ranked: KvLruCache<RankedClasses>;
  readonly #labels: KvLruCache<ClassLabels>;

  constructor({ store, lrus, ttlSeconds, defer }: ClassificationCacheOptions) {
    this.#rankedLru = lrus.ranked;
    this.#ranked = new KvLruCache({ store, lru: lrus.ranked, ttlSeconds, defer, name: 'classification' });
    this.#labels = new KvLruCache({ store, lru: lrus.labels, ttlSeconds, defer, name: 'label table' });
  }

  /** Looks up every key; a failed read or a malformed entry is a miss (the backend can redo it). */
  getMany(keys: readonly string[]): Promise<(RankedClasses | undefined)[]> {
    return this.#ranked.getMany(keys, decodeRanked);
  }

  /**
   * Stores one image's ranking (in the LRU now, in KV after the response), replacing a shallower one.
   * A ranking the isolate already holds at least as deep (a concurrent request asked for more) is
   * kept: the same image and weights always rank the same, so the deeper list says all this one does.
   */
  set(key: string, ranked: RankedClasses): void {
    const held = this.#rankedLru.get(key);
    if (held && (held.complete || (!ranked.complete && held.indices.length >= ranked.indices.length))) return;
    this.#ranked.set(key, ranked, encodeRanked(ranked), rankedMetadata(ranked));
  }

  /** The label table of the model revision, if cached. */
  async labels(model: ModelKey): Promise<ClassLabels | undefined> {
    const [labels] = await this.#labels.getMany([labelTableKey(model)], decodeLabels);
    return labels;
  }

  /** Stores the label table of the model revision. */
  setLabels(model: ModelKey, labels: ClassLabels): void {
    this.#labels.set(labelTableKey(model), labels, encodeLabels(labels));
  }
}

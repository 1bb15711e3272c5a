/**
 * The two-level cache behind every content-keyed cache of the edge (embeddings, classifications): a
 * bounded LRU in the isolate in front of KV. Hot entries skip even the KV round trip; KV makes a fresh
 * isolate warm. Both levels only ever hold values computed by the backend, so a failed or corrupt read
 * is a miss, never an error: the backend can always compute the value again.
 */
import { LRUCache } from 'lru-cache';

/**
 * The isolate tier: an `lru-cache` bounded by its number of entries (cached values are all about the
 * same size), living as long as the isolate.
 */
export type IsolateLru<V extends NonNullable<unknown>> = LRUCache<string, V>;

/** A new isolate LRU holding at most `maxEntries` values. */
export function isolateLru<V extends NonNullable<unknown>>(maxEntries: number): IsolateLru<V> {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
  return new LRUCache<string, V>({ max: maxEntries });
}

/** The part of a KV namespace a cache uses, so any KV-like store fits. */
export interface CacheStore {
  getWithMetadata<M>(key: string, type: 'arrayBuffer'): Promise<{ value: ArrayBuffer | null; metadata: M | null }>;
  put(key: string, value: ArrayBuffer | ArrayBufferView, options?: { expirationTtl?: number; metadata?: unknown }): Promise<void>;
}

/**
 * Turns stored bytes and their KV metadata back into a value, or `undefined` when they do not hold
 * one this caller can use (wrong size, other shape): such an entry reads as a miss.
 */
export type CacheDecoder<V> = (bytes: Uint8Array, metadata: unknown) => V | undefined;

export interface KvLruCacheOptions<V extends NonNullable<unknown>> {
  store: CacheStore;
  lru: IsolateLru<V>;
  ttlSeconds: number;
  /** Runs KV writes after the response (`ctx.waitUntil`); the LRU is written at once. */
  defer: (work: Promise<unknown>) => void;
  /** Names the cache in log lines ("embedding", "classification"). */
  name: string;
}

export class KvLruCache<V extends NonNullable<unknown>> {
  readonly #store: CacheStore;
  readonly #lru: IsolateLru<V>;
  readonly #ttlSeconds: number;
  readonly #defer: (work: Promise<unknown>) => void;
  readonly #name: string;

  constructor({ store, lru, ttlSeconds, defer, name }: KvLruCacheOptions<V>) {
    this.#store = store;
    this.#lru = lru;
    this.#ttlSeconds = ttlSeconds;
    this.#defer = defer;
    this.#name = name;
  }

  /**
   * Looks up every key, the LRU first, then KV in parallel; what KV gives is decoded and kept in the
   * LRU. A KV failure or an entry `decode` refuses reads as a miss.
   */
  async getMany(keys: readonly string[], decode: CacheDecoder<V>): Promise<(V | undefined)[]> {
    return Promise.all(
      keys.map(async (key) => {
        const hot = this.#lru.get(key);
        if (hot !== undefined) return hot;
        try {
          const { value, metadata } = await this.#store.getWithMetadata<unknown>(key, 'arrayBuffer');
          if (value === null) return undefined;
          const entry = decode(new Uint8Array(value), metadata);
          if (entry !== undefined) this.#lru.set(key, entry);
          return entry;
        } catch (err) {
          console.warn(JSON.stringify({ level: 'warn', message: `${this.#name} cache read failed`, key, error: String(err) }));
          return undefined;
        }
      }),
    );
  }

  /** Stores a value: in the LRU now, its encoded bytes (and metadata) in KV after the response. */
  set(key: string, value: V, bytes: Uint8Array, metadata?: Record<string, unknown>): void {
    this.#lru.set(key, value);
    const options = metadata === undefined ? { expirationTtl: this.#ttlSeconds } : { expirationTtl: this.#ttlSeconds, metadata };
    this.#defer(
      this.#store.put(key, bytes, options).catch((err: unknown) => {
        console.warn(JSON.stringify({ level: 'warn', message: `${this.#name} cache write failed`, key, error: String(err) }));
      }),
    );
  }
}

/**
 * Positions of the first occurrence of each key the cache did not hold: what to compute, once per
 * distinct content, when a request repeats an image or text.
 */
export function firstMisses(keys: readonly string[], found: readonly unknown[]): number[] {
  const seen = new Set<string>();
  const out: number[] = [];
  keys.forEach((key, i) => {
    if (found[i] === undefined && !seen.has(key)) {
      seen.add(key);
      out.push(i);
    }
  });
  return out;
}

/** What the `x-cache` header says of one request's look-ups. */
export type CacheStatus = 'hit' | 'miss' | 'partial';

/** Counts one request's cache hits and misses for `x-cache`. */
export class CacheTally {
  #hits = 0;
  #misses = 0;

  /** Counts each entry of a look-up: found (defined) or missed (undefined). */
  count(found: readonly unknown[]): void {
    for (const entry of found) {
      if (entry === undefined) this.#misses++;
      else this.#hits++;
    }
  }

  /** Forgets what was counted, for a request that starts its look-ups again. */
  reset(): void {
    this.#hits = 0;
    this.#misses = 0;
  }

  /** `hit` when every look-up found its entry, `miss` when none did, else `partial`. */
  get status(): CacheStatus {
    if (this.#misses === 0) return 'hit';
    return this.#hits === 0 ? 'miss' : 'partial';
  }
}

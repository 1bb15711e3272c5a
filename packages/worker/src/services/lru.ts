/**
 * Least-recently-used maps that live as long as the isolate, bounded so they cannot take more than
 * their share of the worker's 128 MB: `WeightedLru` by the total weight of its entries (approximate
 * bytes: parsed parquet footers vary from a few KB to MBs), `Lru` by the number of entries (embeddings,
 * all the same size, so hot ones skip even the KV round trip).
 */
export class WeightedLru<V> {
  readonly #map = new Map<string, { value: V; weight: number }>();
  #weight = 0;

  constructor(readonly maxWeight: number) {}

  get weight(): number {
    return this.#weight;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    const entry = this.#map.get(key);
    if (entry === undefined) return undefined;
    this.#map.delete(key);
    this.#map.set(key, entry);
    return entry.value;
  }

  /** Stores the value; evicts the least recently used entries until the weight fits again. */
  set(key: string, value: V, weight: number): void {
    this.delete(key);
    this.#map.set(key, { value, weight });
    this.#weight += weight;
    for (const [k, entry] of this.#map) {
      if (this.#weight <= this.maxWeight || k === key) break;
      this.#map.delete(k);
      this.#weight -= entry.weight;
    }
  }

  delete(key: string): void {
    const entry = this.#map.get(key);
    if (entry === undefined) return;
    this.#map.delete(key);
    this.#weight -= entry.weight;
  }

  clear(): void {
    this.#map.clear();
    this.#weight = 0;
  }
}

/** An LRU bounded by its number of entries: a `WeightedLru` whose entries all weigh 1. */
export class Lru<V> extends WeightedLru<V> {
  constructor(maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
    super(maxEntries);
  }

  /** Stores the value as most recently used, evicting the least recently used beyond the bound. */
  override set(key: string, value: V): void {
    super.set(key, value, 1);
  }
}

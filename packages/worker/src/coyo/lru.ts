/**
 * A least-recently-used map bounded by the total weight of its entries (approximate bytes), because
 * parsed parquet footers vary from a few KB to MBs and the isolate has 128 MB in all.
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

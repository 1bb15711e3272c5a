/**
 * The slice of the R2 binding the reader uses, and a wrapper that counts what a request costs: R2
 * bills per operation, and the edge's latency is mostly the number of round trips.
 */

export interface RangeReadOptions {
  range?: { offset: number; length: number };
}

/** What the reader needs from a bucket: `R2Bucket` satisfies it, so do test doubles. */
export interface RangeReadBucket {
  get(key: string, options?: RangeReadOptions): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
}

/** R2 work done for one request. */
export interface ReadStats {
  /** Every `get`, whole objects and ranges. */
  reads: number;
  /** `get`s with a byte range (footers and row groups). */
  rangeReads: number;
  /** Bytes received. */
  bytes: number;
}

/** Wraps a bucket and counts its reads; one per request, so the numbers are that request's cost. */
export class CountingBucket implements RangeReadBucket {
  readonly stats: ReadStats = { reads: 0, rangeReads: 0, bytes: 0 };

  constructor(private readonly inner: RangeReadBucket) {}

  async get(key: string, options?: RangeReadOptions): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null> {
    this.stats.reads += 1;
    if (options?.range !== undefined) this.stats.rangeReads += 1;
    const object = options === undefined ? await this.inner.get(key) : await this.inner.get(key, options);
    if (object === null) return null;
    const bytes = await object.arrayBuffer();
    this.stats.bytes += bytes.byteLength;
    return { arrayBuffer: () => Promise.resolve(bytes) };
  }
}

/** Reads `length` bytes at `offset`; a missing object is an error here (the manifest named it). */
export async function readRange(bucket: RangeReadBucket, key: string, offset: number, length: number): Promise<ArrayBuffer> {
  const object = await bucket.get(key, { range: { offset, length } });
  if (object === null) throw new MissingObjectError(key);
  const bytes = await object.arrayBuffer();
  if (bytes.byteLength !== length) throw new Error(`short read of ${key}: ${bytes.byteLength} of ${length} bytes at ${offset}`);
  return bytes;
}

/** An object the manifest lists is not in the bucket: the version is broken or was deleted. */
export class MissingObjectError extends Error {
  override readonly name = 'MissingObjectError';
  constructor(readonly key: string) {
    super(`R2 object ${key} is missing`);
  }
}

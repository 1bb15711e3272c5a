/** Where a dataset version is published: local R2, real R2, or a folder. */

export interface StoredObject {
  readonly size: number;
  /** The sha256 recorded when the object was written, if any. */
  readonly sha256: string | undefined;
}

export interface PutOptions {
  /** Hex sha256 of the body: stored with the object and, where the store supports it, checked on arrival. */
  readonly sha256: string;
  readonly contentType: string;
}

/** The four operations the publisher needs from a bucket. */
export interface ObjectStore {
  /** For messages: "local R2 (…/.wrangler/state/v3)", "R2 bucket coyo-metadata", … */
  readonly description: string;
  head(key: string): Promise<StoredObject | null>;
  get(key: string): Promise<Uint8Array | null>;
  put(key: string, body: Uint8Array, options: PutOptions): Promise<void>;
  close(): Promise<void>;
}

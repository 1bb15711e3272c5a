/**
 * The local R2 that `wrangler dev` serves, reached through wrangler's `getPlatformProxy`, which runs
 * the same workerd storage against the same persist folder (`.wrangler/state/v3` by default).
 */
import { IngestError } from '../errors.js';
import type { ObjectStore, PutOptions, StoredObject } from './types.js';

/** The part of the Workers R2 binding the publisher uses. */
interface R2Like {
  head(key: string): Promise<{ size: number; customMetadata?: Record<string, string> } | null>;
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
  put(
    key: string,
    value: Uint8Array,
    options: { httpMetadata: { contentType: string }; customMetadata: Record<string, string>; sha256: string },
  ): Promise<unknown>;
}

export interface LocalR2Options {
  /** The wrangler config that declares the bucket binding. */
  readonly configPath: string;
  /** The persist folder `wrangler dev` uses (its default is `.wrangler/state/v3` beside the config). */
  readonly persistPath: string;
  /** Binding name of the bucket (default COYO_BUCKET). */
  readonly binding?: string;
}

function isR2Like(value: unknown): value is R2Like {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as R2Like).head === 'function' &&
    typeof (value as R2Like).put === 'function' &&
    typeof (value as R2Like).get === 'function'
  );
}

/** Opens the local bucket; `close()` stops the workerd process behind it. */
export async function localR2Store(options: LocalR2Options): Promise<ObjectStore> {
  const binding = options.binding ?? 'COYO_BUCKET';
  const { getPlatformProxy } = await import('wrangler');
  // wrangler announces a .dev.vars beside the configuration on stdout, where the CLI prints its JSON
  // summary: quiet it to warnings while the proxy starts, unless the caller chose a level.
  const chosen = process.env.WRANGLER_LOG;
  process.env.WRANGLER_LOG = chosen ?? 'warn';
  let proxy;
  try {
    proxy = await getPlatformProxy({ configPath: options.configPath, persist: { path: options.persistPath } });
  } finally {
    if (chosen === undefined) delete process.env.WRANGLER_LOG;
  }
  const bucket = proxy.env[binding];
  if (!isR2Like(bucket)) {
    await proxy.dispose();
    throw new IngestError(`${options.configPath} declares no R2 bucket bound as ${binding} (see --binding)`);
  }
  return {
    description: `local R2 ${binding} (${options.persistPath})`,
    async head(key: string): Promise<StoredObject | null> {
      const object = await bucket.head(key);
      return object === null ? null : { size: object.size, sha256: object.customMetadata?.['sha256'] };
    },
    async get(key: string): Promise<Uint8Array | null> {
      const object = await bucket.get(key);
      return object === null ? null : new Uint8Array(await object.arrayBuffer());
    },
    async put(key: string, body: Uint8Array, put: PutOptions): Promise<void> {
      // workerd cannot take a Node Buffer across the proxy: copy into a plain Uint8Array.
      await bucket.put(key, new Uint8Array(body), {
        httpMetadata: { contentType: put.contentType },
        customMetadata: { sha256: put.sha256 },
        sha256: put.sha256,
      });
    },
    async close(): Promise<void> {
      await proxy.dispose();
    },
  };
}

/**
 * The edge worker as clients meet it, for the benchmark: `wrangler dev` (the local Workers runtime,
 * with the R2 binding, the Cache API, KV API keys and the rate limiter of `wrangler.toml`) serving a
 * version published into its local R2 by the ingest's own publisher. API keys are written to the
 * `API_KEYS` namespace in the worker's stored form (`sha256:<hex>` → record), like the end-to-end
 * harness does; one key per few hundred requests keeps the bench under the high tier's 600 a minute.
 */
import { createHash, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import type { Manifest } from '@coyo/coyo-schema';
import { getPlatformProxy, unstable_startWorker } from 'wrangler';
import { publish } from '../src/publish.js';
import { localR2Store } from '../src/targets/local-r2.js';

/** The repository's wrangler.toml: the worker and bindings `pnpm dev` serves. */
export const WRANGLER_CONFIG = resolve(import.meta.dirname, '../../../wrangler.toml');

/** Requests one bench key makes at most (the high tier allows 600 a minute). */
const REQUESTS_PER_KEY = 400;

interface KvLike {
  put(key: string, value: string, options: { metadata: Record<string, unknown> }): Promise<void>;
}

/** Publishes a built version into the local R2 under `persist` (a wrangler `v3` state folder). */
export async function publishLocal(persist: string, manifest: Manifest, shardFiles: readonly string[]): Promise<void> {
  const store = await localR2Store({ configPath: WRANGLER_CONFIG, persistPath: persist });
  try {
    await publish({ manifest, shardFiles, store });
  } finally {
    await store.close();
  }
}

/** Writes `count` API keys with the `coyo` scope and the high tier; returns them. */
export async function seedKeys(persist: string, count: number): Promise<string[]> {
  const proxy = await getPlatformProxy<{ API_KEYS: KvLike }>({ configPath: WRANGLER_CONFIG, persist: { path: persist } });
  try {
    const keys: string[] = [];
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
    for (let i = 0; i < count; i++) {
      const key = `coyo_${Array.from(randomBytes(32), (b) => alphabet[b % 62]).join('')}`;
      const id = key.slice(0, 12);
      const record = { id, name: `bench-${i}`, scopes: ['coyo'], tier: 'high', created_at: new Date().toISOString(), disabled: false };
      const hash = createHash('sha256').update(key).digest('hex');
      await proxy.env.API_KEYS.put(`sha256:${hash}`, JSON.stringify(record), { metadata: { id, name: record.name, disabled: false } });
      keys.push(key);
    }
    return keys;
  } finally {
    await proxy.dispose();
  }
}

/** A started worker and a client that rotates through the bench keys. */
export interface ServedWorker {
  readonly url: string;
  /** GET `path` with a bearer key; one key per {@link REQUESTS_PER_KEY} requests. */
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

/** Starts `wrangler dev` on the state under `persistDir` (the folder that holds `v3`). */
export async function startServedWorker(persistDir: string, keys: readonly string[]): Promise<ServedWorker> {
  const worker = await unstable_startWorker({
    config: WRANGLER_CONFIG,
    bindings: {
      BACKEND_URL: { type: 'plain_text', value: 'http://127.0.0.1:9' },
      BACKEND_TOKEN: { type: 'secret_text', value: 'unused-by-coyo-routes' },
    },
    dev: { server: { hostname: '127.0.0.1', port: 0 }, inspector: false, persist: persistDir, watch: false, logLevel: 'warn' },
  });
  await worker.ready;
  const url = (await worker.url).toString().replace(/\/$/, '');
  let requests = 0;
  return {
    url,
    get(path, headers = {}) {
      const key = keys[Math.floor(requests / REQUESTS_PER_KEY) % keys.length];
      requests += 1;
      if (key === undefined) throw new Error('bug: no bench key');
      return fetch(`${url}${path}`, { headers: { authorization: `Bearer ${key}`, ...headers } });
    },
    stop: () => worker.dispose(),
  };
}

/** The R2 cost a COYO response reports. */
export function r2Cost(response: Response): { reads: number; bytes: number } {
  const reads = Number(response.headers.get('x-coyo-r2-reads'));
  const bytes = Number(response.headers.get('x-coyo-r2-bytes'));
  if (!Number.isFinite(reads) || !Number.isFinite(bytes) || response.headers.get('x-coyo-r2-reads') === null) {
    throw new Error(`response ${response.status} has no x-coyo-r2-* headers`);
  }
  return { reads, bytes };
}

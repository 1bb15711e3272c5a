/** Shared helpers for the ingest tests: temporary folders and an in-memory object store. */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { ObjectStore, PutOptions, StoredObject } from '../src/targets/types.js';

const made: string[] = [];

/** A fresh temporary folder, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'coyo-ingest-'));
  made.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(made.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

export interface MemoryStore extends ObjectStore {
  readonly objects: Map<string, { body: Uint8Array; sha256: string }>;
  /** Every operation in order, e.g. "put v/x/shard-00000.parquet". */
  readonly log: string[];
  /** Makes the n-th put (1-based, counted from now) throw. */
  failPutAt(n: number): void;
}

/** An object store in memory that records what was done to it. */
export function memoryStore(): MemoryStore {
  const objects = new Map<string, { body: Uint8Array; sha256: string }>();
  const log: string[] = [];
  let failAt = Infinity;
  let puts = 0;
  return {
    description: 'memory',
    objects,
    log,
    failPutAt(n: number) {
      failAt = n;
      puts = 0;
    },
    head(key: string): Promise<StoredObject | null> {
      log.push(`head ${key}`);
      const o = objects.get(key);
      return Promise.resolve(o ? { size: o.body.byteLength, sha256: o.sha256 } : null);
    },
    get(key: string): Promise<Uint8Array | null> {
      log.push(`get ${key}`);
      return Promise.resolve(objects.get(key)?.body ?? null);
    },
    put(key: string, body: Uint8Array, options: PutOptions): Promise<void> {
      puts += 1;
      if (puts === failAt) return Promise.reject(new Error(`injected failure on put ${key}`));
      const actual = createHash('sha256').update(body).digest('hex');
      if (actual !== options.sha256) return Promise.reject(new Error(`checksum mismatch for ${key}`));
      log.push(`put ${key}`);
      objects.set(key, { body, sha256: options.sha256 });
      return Promise.resolve();
    },
    async close(): Promise<void> {},
  };
}

/**
 * Publishes a built version: shards first (skipping those already there with the same checksum),
 * then the manifest, and only then the `current.json` pointer, so a reader always finds either the
 * old version or the whole new one.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ManifestSchema, POINTER_KEY, PointerSchema, type Manifest, type Pointer } from '@coyo/coyo-schema';
import { IngestError } from './errors.js';
import { indexFilePath, indexTables } from './indexes/write.js';
import { manifestKey } from './manifest.js';
import type { Progress } from './progress.js';
import type { ObjectStore } from './targets/types.js';

export interface PublishResult {
  readonly version: string;
  /** Shards uploaded and skipped (the provenance tables go up with them, uncounted). */
  readonly uploaded: number;
  readonly skipped: number;
  /** The version the pointer named before, if any. */
  readonly previousVersion: string | undefined;
}

export interface PublishOptions {
  readonly manifest: Manifest;
  readonly shardFiles: readonly string[];
  readonly store: ObjectStore;
  readonly progress?: Progress;
  readonly now?: () => Date;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The JSON value of `bytes`, or undefined when they are not JSON. */
function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
}

/** Reads the current pointer, or undefined when there is none (or it is unreadable). */
export async function readPointer(store: ObjectStore): Promise<Pointer | undefined> {
  const bytes = await store.get(POINTER_KEY);
  if (bytes === null) return undefined;
  const parsed = PointerSchema.safeParse(parseJson(bytes));
  return parsed.success ? parsed.data : undefined;
}

/**
 * Refuses to overwrite a version that was published before with other shards. Readers cache a version's
 * manifest and footers under its name, and may be serving it now: its shards must never change. A version
 * whose manifest was never written (an upload that crashed) is not visible to anyone and may be redone.
 */
async function refuseRepublishing(store: ObjectStore, manifest: Manifest): Promise<void> {
  const version = manifest.dataset_version;
  const bytes = await store.get(manifestKey(version));
  if (bytes === null) return;
  const stored = ManifestSchema.safeParse(parseJson(bytes));
  const same =
    stored.success &&
    stored.data.shards.length === manifest.shards.length &&
    stored.data.shards.every((s, i) => {
      const shard = manifest.shards[i];
      return shard !== undefined && s.key === shard.key && s.sha256 === shard.sha256;
    });
  if (!same) {
    throw new IngestError(
      `version ${version} is already published in ${store.description} with other data; ` +
        'pick another --dataset-version (or leave it out to name the version after its checksums)',
    );
  }
}

/** Uploads the version and switches the pointer to it. */
export async function publish(options: PublishOptions): Promise<PublishResult> {
  const { manifest, store, progress } = options;
  if (options.shardFiles.length !== manifest.shards.length) throw new Error('bug: one local file per shard expected');
  const previous = await readPointer(store);
  await refuseRepublishing(store, manifest);
  progress?.phase('upload', manifest.total_rows);
  let uploaded = 0;
  let skipped = 0;
  let rows = 0;
  for (const [i, shard] of manifest.shards.entries()) {
    const existing = await store.head(shard.key);
    if (existing !== null && existing.size === shard.bytes && existing.sha256 === shard.sha256) {
      skipped += 1;
      progress?.event('shard-skipped', { index: i, key: shard.key }, `${shard.key} already uploaded, skipped`);
    } else {
      const body = new Uint8Array(await readFile(options.shardFiles[i] as string));
      const actual = sha256(body);
      if (actual !== shard.sha256) throw new Error(`${options.shardFiles[i]} changed since it was built (sha256 ${actual})`);
      await store.put(shard.key, body, { sha256: shard.sha256, contentType: 'application/vnd.apache.parquet' });
      uploaded += 1;
      progress?.event('shard-uploaded', { index: i, key: shard.key, bytes: shard.bytes }, `uploaded ${shard.key}`);
    }
    rows += shard.rows;
    progress?.update(rows);
  }
  progress?.end();

  // The provenance tables go up before the manifest that names them, like the shards.
  if (manifest.indexes !== undefined) {
    // The build writes them beside the shards.
    const folder = dirname(options.shardFiles[0] ?? '.');
    for (const table of indexTables(manifest.indexes)) {
      const existing = await store.head(table.key);
      if (existing !== null && existing.size === table.bytes && existing.sha256 === table.sha256) continue;
      const body = new Uint8Array(await readFile(indexFilePath(folder, table.key)));
      const actual = sha256(body);
      if (actual !== table.sha256) throw new Error(`${table.key} changed since it was built (sha256 ${actual})`);
      await store.put(table.key, body, { sha256: table.sha256, contentType: 'application/octet-stream' });
      progress?.event('index-uploaded', { key: table.key, bytes: table.bytes }, `uploaded ${table.key}`);
    }
  }

  const manifestBytes = new TextEncoder().encode(`${JSON.stringify(manifest)}\n`);
  const key = manifestKey(manifest.dataset_version);
  await store.put(key, manifestBytes, { sha256: sha256(manifestBytes), contentType: 'application/json' });

  const pointer: Pointer = {
    format_version: manifest.format_version,
    version: manifest.dataset_version,
    manifest_key: key,
    published_at: (options.now ?? (() => new Date()))().toISOString(),
  };
  const pointerBytes = new TextEncoder().encode(`${JSON.stringify(pointer)}\n`);
  await store.put(POINTER_KEY, pointerBytes, { sha256: sha256(pointerBytes), contentType: 'application/json' });
  progress?.event(
    'published',
    { version: pointer.version, uploaded, skipped, previous_version: previous?.version ?? null },
    `published version ${pointer.version} to ${store.description} (${uploaded} uploaded, ${skipped} already there)` +
      (previous ? `; it replaces ${previous.version}` : ''),
  );
  return { version: pointer.version, uploaded, skipped, previousVersion: previous?.version };
}

import { POINTER_KEY, PointerSchema } from '@coyo/coyo-schema';
import { describe, expect, it } from 'vitest';
import { IngestError } from './errors.js';
import { memoryStore, tempDir } from '../test/helpers.js';
import { assembleManifest, buildShards } from './build.js';
import { manifestKey } from './manifest.js';
import { publish, readPointer } from './publish.js';
import { writeSample } from './sample.js';
import { at, defined } from '@coyo/coyo-reader/testing';

async function built(rows: number, seed: number, datasetVersion?: string) {
  const input = await tempDir();
  await writeSample({ rows, outDir: input, seed, files: 2 });
  return buildShards({
    inputs: [input],
    workDir: await tempDir(),
    rowGroupSize: 2048,
    shardRows: 2048,
    ...(datasetVersion !== undefined ? { datasetVersion } : {}),
  });
}

describe('publish', () => {
  it('uploads every shard, then the manifest, and writes the pointer last', async () => {
    const { manifest, shardFiles } = await built(5000, 1);
    const store = memoryStore();
    const result = await publish({ manifest, shardFiles, store });
    const puts = store.log.filter((l) => l.startsWith('put '));
    const tables = puts.filter((l) => l.includes('/index/'));
    expect(tables).toHaveLength(11);
    expect(puts.filter((l) => !l.includes('/index/'))).toEqual([
      ...manifest.shards.map((s) => `put ${s.key}`),
      `put ${manifestKey(manifest.dataset_version)}`,
      `put ${POINTER_KEY}`,
    ]);
    // The provenance tables go up before the manifest that names them.
    expect(puts.indexOf(tables.at(-1) as string)).toBeLessThan(puts.indexOf(`put ${manifestKey(manifest.dataset_version)}`));
    expect(result).toMatchObject({ version: manifest.dataset_version, uploaded: 3, skipped: 0, previousVersion: undefined });
    const pointer = PointerSchema.parse(JSON.parse(new TextDecoder().decode(defined(store.objects.get(POINTER_KEY)).body)));
    expect(pointer.manifest_key).toBe(manifestKey(manifest.dataset_version));
  });

  it('skips shards already stored with the same checksum and replaces those that differ', async () => {
    const { manifest, shardFiles } = await built(5000, 2);
    const store = memoryStore();
    const first = at(manifest.shards, 0);
    const second = at(manifest.shards, 1);
    await publish({ manifest, shardFiles, store });
    // A shard left half-written by a crash: same key, other bytes.
    store.objects.set(second.key, { body: new Uint8Array([1, 2, 3]), sha256: 'f'.repeat(64) });
    store.log.length = 0;
    const again = await publish({ manifest, shardFiles, store });
    expect(again).toMatchObject({ uploaded: 1, skipped: 2, previousVersion: manifest.dataset_version });
    expect(store.log).not.toContain(`put ${first.key}`);
    expect(store.log).toContain(`put ${second.key}`);
    expect(defined(store.objects.get(second.key)).sha256).toBe(second.sha256);
  });

  it('leaves the previous pointer in place when an upload fails midway', async () => {
    const old = await built(2100, 3);
    const next = await built(5000, 4);
    const store = memoryStore();
    await publish({ manifest: old.manifest, shardFiles: old.shardFiles, store });
    store.failPutAt(2);
    await expect(publish({ manifest: next.manifest, shardFiles: next.shardFiles, store })).rejects.toThrow(/injected failure/);
    expect((await readPointer(store))?.version).toBe(old.manifest.dataset_version);
    expect(store.objects.has(manifestKey(next.manifest.dataset_version))).toBe(false);
    // The re-run uploads only what is missing and then switches the pointer.
    store.failPutAt(Infinity);
    const resumed = await publish({ manifest: next.manifest, shardFiles: next.shardFiles, store });
    expect(resumed).toMatchObject({ uploaded: 2, skipped: 1, previousVersion: old.manifest.dataset_version });
    expect((await readPointer(store))?.version).toBe(next.manifest.dataset_version);
  });

  it('refuses to publish other data under a version name that is already published, touching nothing', async () => {
    const served = await built(2100, 5, 'release-1');
    const other = await built(2100, 6, 'release-1');
    const store = memoryStore();
    await publish({ manifest: served.manifest, shardFiles: served.shardFiles, store });
    const before = new Map(store.objects);
    const error = await publish({ manifest: other.manifest, shardFiles: other.shardFiles, store }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IngestError);
    expect((error as IngestError).message).toMatch(/release-1.*already published/);
    expect(store.log.filter((l) => l.startsWith('put ') && !l.includes('/index/'))).toHaveLength(served.manifest.shards.length + 2);
    expect(store.objects).toEqual(before);
  });

  it('gives the pointer the format_version of the manifest it names', async () => {
    const { manifest, shardFiles } = await built(2100, 8);
    expect(manifest.format_version).toBe(3);
    // The same shards described as a layout-2 version (no look-up index, a null range).
    const shards = manifest.shards.map(({ index_bytes: _, ...s }) => ({ ...s, columns: { ...s.columns, num_faces: null } }));
    const withNullRange = assembleManifest(manifest.dataset_version, shards, manifest.row_group_size);
    expect(withNullRange.format_version).toBe(2);
    const store = memoryStore();
    await publish({ manifest: withNullRange, shardFiles, store });
    expect((await readPointer(store))?.format_version).toBe(2);
    const layout3 = memoryStore();
    await publish({ manifest, shardFiles, store: layout3 });
    expect((await readPointer(layout3))?.format_version).toBe(3);
  });

  it('publishes over a pointer that is not valid JSON', async () => {
    const { manifest, shardFiles } = await built(2100, 7);
    const store = memoryStore();
    const garbage = new TextEncoder().encode('{"version": "trunc');
    store.objects.set(POINTER_KEY, { body: garbage, sha256: 'f'.repeat(64) });
    expect(await readPointer(store)).toBeUndefined();
    const result = await publish({ manifest, shardFiles, store });
    expect(result).toMatchObject({ version: manifest.dataset_version, previousVersion: undefined });
    expect((await readPointer(store))?.version).toBe(manifest.dataset_version);
  });
});

import type { Manifest, Pointer, Shard } from '@coyo/coyo-schema';
import { describe, expect, it } from 'vitest';
import { ReadableManifestSchema, ReadablePointerSchema, SUPPORTED_FORMAT_VERSIONS } from './manifest';
import { at, fixtureManifest } from '../testing';

/** The plain fixture's manifest (three shards, as the ingest wrote it) with its shards replaced. */
function withShards(edit: (shards: Shard[]) => Shard[]): Manifest {
  const manifest = fixtureManifest();
  return { ...manifest, shards: edit(manifest.shards.map((s) => ({ ...s }))) };
}

function issuePaths(value: unknown): (string | number | symbol)[][] {
  const result = ReadableManifestSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((i) => [...i.path]);
}

describe('ReadableManifestSchema', () => {
  it('reads the manifest the ingest wrote for the fixture', () => {
    const manifest = fixtureManifest();
    expect(manifest.shards).toHaveLength(3);
    expect(ReadableManifestSchema.parse(manifest)).toEqual(manifest);
  });

  it('refuses shards whose id ranges overlap', () => {
    const overlapping = withShards((s) => [at(s, 0), { ...at(s, 1), min_id: at(s, 0).max_id }, at(s, 2)]);
    expect(issuePaths(overlapping)).toEqual([['shards', 0]]);
  });

  it('refuses shards listed out of id order', () => {
    const swapped = withShards((s) => [at(s, 1), at(s, 0), at(s, 2)]);
    expect(issuePaths(swapped)).toEqual([['shards', 0]]);
  });

  it('refuses a shard whose min id is above its max id', () => {
    const inverted = withShards((s) => [at(s, 0), at(s, 1), { ...at(s, 2), min_id: at(s, 2).max_id + 1 }]);
    expect(issuePaths(inverted)).toEqual([['shards', 2]]);
  });

  it('refuses a total row count that is not the sum of the shards', () => {
    const manifest = fixtureManifest();
    expect(issuePaths({ ...manifest, total_rows: manifest.total_rows + 1 })).toEqual([['total_rows']]);
  });

  it('keeps the shared rule that a null range needs layout 2', () => {
    const manifest = fixtureManifest();
    const nullRange = { ...manifest, columns: { ...manifest.columns, num_faces: null } };
    const withoutIndex = { ...nullRange, shards: nullRange.shards.map(({ index_bytes: _, ...s }) => s) };
    expect(issuePaths({ ...withoutIndex, format_version: 1 })).toEqual([['format_version']]);
    expect(issuePaths({ ...withoutIndex, format_version: 2 })).toEqual([]);
    expect(issuePaths({ ...nullRange, format_version: 3 })).toEqual([]);
  });

  it('requires a look-up index in every shard of layout 3, and none before it', () => {
    const manifest = fixtureManifest();
    const [, ...rest] = manifest.shards;
    const { index_bytes: _, ...unindexed } = at(manifest.shards, 0);
    expect(issuePaths({ ...manifest, shards: [unindexed, ...rest] })).toEqual([['shards']]);
    expect(issuePaths({ ...manifest, format_version: 2 })).toEqual([['shards']]);
  });

  it('refuses a format version it does not serve', () => {
    const unsupported = Math.max(...SUPPORTED_FORMAT_VERSIONS) + 1;
    expect(issuePaths({ ...fixtureManifest(), format_version: unsupported })).toContainEqual(['format_version']);
  });
});

describe('ReadablePointerSchema', () => {
  const pointer: Pointer = {
    format_version: 2,
    version: 'fixture-1',
    manifest_key: 'v/fixture-1/manifest.json',
    published_at: '2024-06-01T00:00:00.000Z',
  };

  it('reads a pointer to every layout it serves', () => {
    for (const format_version of SUPPORTED_FORMAT_VERSIONS) {
      expect(ReadablePointerSchema.parse({ ...pointer, format_version })).toEqual({ ...pointer, format_version });
    }
  });

  it('stops at a pointer to a layout it does not serve', () => {
    const unsupported = Math.max(...SUPPORTED_FORMAT_VERSIONS) + 1;
    expect(ReadablePointerSchema.safeParse({ ...pointer, format_version: unsupported }).success).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import {
  DatasetVersionSchema,
  ManifestSchema,
  LookupIndexError,
  PointerSchema,
  decodeLookupIndex,
  encodeLookupIndex,
  hasNullRange,
  lookupIndexBytes,
  type Manifest,
  type Pointer,
  type Shard,
} from './index.js';

const shard: Shard = {
  key: 'v/x/shard-00000.parquet',
  rows: 10,
  bytes: 1000,
  sha256: 'a'.repeat(64),
  footer_bytes: 200,
  row_groups: 1,
  min_id: 1,
  max_id: 10,
  columns: { id: { min: 1, max: 10 }, watermark_score: { min: 0.1, max: 0.9 } },
};

const manifest: Manifest = {
  format_version: 1,
  dataset: 'coyo-700m',
  dataset_version: 'x',
  created_at: '2024-06-01T00:00:00.000Z',
  schema: [{ name: 'id', type: 'BIGINT' }],
  total_rows: 10,
  row_group_size: 2048,
  columns: { id: { min: 1, max: 10 }, watermark_score: { min: 0.1, max: 0.9 } },
  shards: [shard],
};

const withNull: Manifest = {
  ...manifest,
  format_version: 2,
  columns: { ...manifest.columns, watermark_score: null },
  shards: [{ ...shard, columns: { ...shard.columns, watermark_score: null } }],
};

const pointer: Pointer = {
  format_version: 1,
  version: '658fe60119ae5582',
  manifest_key: 'v/658fe60119ae5582/manifest.json',
  published_at: '2024-06-01T00:00:00.000Z',
};

/** The manifest with its only shard changed by `edit`. */
function withShard(edit: Partial<Shard>): unknown {
  return { ...manifest, shards: [{ ...shard, ...edit }] };
}

describe('ManifestSchema', () => {
  it('reads a layout-1 manifest', () => {
    expect(ManifestSchema.parse(manifest)).toEqual(manifest);
  });

  it('reads null ranges in a layout-2 manifest', () => {
    expect(ManifestSchema.parse(withNull)).toEqual(withNull);
  });

  it('reads a layout-2 manifest whose ranges are all known', () => {
    expect(ManifestSchema.parse({ ...manifest, format_version: 2 }).format_version).toBe(2);
  });

  it('refuses a null range under layout 1, which older readers cannot parse', () => {
    const result = ManifestSchema.safeParse({ ...withNull, format_version: 1 });
    expect(result.success).toBe(false);
    expect(result.error?.issues).toEqual([expect.objectContaining({ path: ['format_version'], message: 'null ranges need format_version 2' })]);
  });

  it('refuses a null range under layout 1 when only the version-wide ranges have one', () => {
    expect(ManifestSchema.safeParse({ ...manifest, columns: { ...manifest.columns, num_faces: null } }).success).toBe(false);
  });

  it('refuses a format version it does not declare', () => {
    expect(ManifestSchema.safeParse({ ...manifest, format_version: 4 }).success).toBe(false);
  });

  it('refuses a shard checksum that is not lower-case hex sha256', () => {
    expect(ManifestSchema.safeParse(withShard({ sha256: 'A'.repeat(64) })).success).toBe(false);
    expect(ManifestSchema.safeParse(withShard({ sha256: 'a'.repeat(63) })).success).toBe(false);
  });

  it('refuses a footer too short to hold parquet metadata and its trailing bytes', () => {
    expect(ManifestSchema.safeParse(withShard({ footer_bytes: 11 })).success).toBe(false);
    expect(ManifestSchema.safeParse(withShard({ footer_bytes: 12 })).success).toBe(true);
  });

  it('refuses a range whose bound is not a number', () => {
    const shards = [{ ...shard, columns: { id: { min: 1, max: '10' } } }];
    expect(ManifestSchema.safeParse({ ...manifest, shards }).success).toBe(false);
  });
});

describe('hasNullRange', () => {
  it('is false while every range is known', () => {
    expect(hasNullRange(manifest)).toBe(false);
  });

  it('finds a null range in a shard', () => {
    expect(hasNullRange({ columns: manifest.columns, shards: withNull.shards })).toBe(true);
  });

  it('finds a null range in the version-wide ranges', () => {
    expect(hasNullRange({ columns: withNull.columns, shards: manifest.shards })).toBe(true);
  });

  it('does not take a column left out for one without values', () => {
    expect(hasNullRange({ columns: {}, shards: [{ columns: {} }] })).toBe(false);
  });
});

describe('DatasetVersionSchema', () => {
  it('accepts letters, digits, dots, dashes and underscores', () => {
    for (const name of ['658fe60119ae5582', 'fixture-1', 'v2.1_rc', 'a'.repeat(64)]) expect(DatasetVersionSchema.parse(name)).toBe(name);
  });

  it('refuses names that are not safe as a key prefix', () => {
    for (const name of ['', '.hidden', '-x', '../x', 'a/b', 'a b', 'a'.repeat(65)]) {
      expect(DatasetVersionSchema.safeParse(name).success, name).toBe(false);
    }
  });
});

describe('PointerSchema', () => {
  it('reads a pointer', () => {
    expect(PointerSchema.parse(pointer)).toEqual(pointer);
  });

  it('refuses a pointer without a manifest key', () => {
    expect(PointerSchema.safeParse({ ...pointer, manifest_key: '' }).success).toBe(false);
  });

  it('refuses a pointer to a version name that is not safe as a key prefix', () => {
    expect(PointerSchema.safeParse({ ...pointer, version: '../other' }).success).toBe(false);
  });

  it('refuses a pointer to a format version it does not declare', () => {
    expect(PointerSchema.safeParse({ ...pointer, format_version: 4 }).success).toBe(false);
  });
});

describe('look-up index', () => {
  const index = {
    groups: 2,
    columns: 3,
    numeric: 1,
    rowStarts: new Float64Array([0, 5, 9]),
    min: new Float64Array([1, Number.POSITIVE_INFINITY]),
    max: new Float64Array([4, Number.NEGATIVE_INFINITY]),
    chunkStart: new Float64Array([4, 10, 20, 30, 40, 50]),
    chunkEnd: new Float64Array([10, 20, 30, 40, 50, 65]),
  };
  const expectShape = { columns: 3, numeric: 1, dataEnd: 100 };

  it('decodes what it encodes, at the size it declares', () => {
    const bytes = encodeLookupIndex(index);
    expect(bytes.byteLength).toBe(lookupIndexBytes(2, 3, 1));
    expect(decodeLookupIndex(bytes.buffer as ArrayBuffer, expectShape)).toEqual(index);
  });

  it('refuses bytes that are not an index, another shape, a truncated index or chunks past the row groups', () => {
    const bytes = encodeLookupIndex(index);
    const buffer = bytes.buffer as ArrayBuffer;
    expect(() => decodeLookupIndex(new ArrayBuffer(64), expectShape)).toThrow(LookupIndexError);
    expect(() => decodeLookupIndex(buffer, { ...expectShape, columns: 17 })).toThrow(/3 columns/);
    expect(() => decodeLookupIndex(buffer.slice(0, buffer.byteLength - 4), expectShape)).toThrow(/expected/);
    expect(() => decodeLookupIndex(buffer, { ...expectShape, dataEnd: 60 })).toThrow(/past the row groups/);
  });
});

import { describe, expect, it } from 'vitest';
import { ManifestSchema, formatVersionFor, type Manifest, type Shard } from './manifest.js';

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

describe('formatVersionFor', () => {
  it('keeps layout 1 while every range is known', () => {
    expect(formatVersionFor(manifest)).toBe(1);
  });

  it('asks for layout 2 when a shard has a column without a range', () => {
    expect(formatVersionFor({ ...manifest, shards: withNull.shards })).toBe(2);
  });
});

describe('ManifestSchema', () => {
  it('reads a layout-1 manifest', () => {
    expect(ManifestSchema.parse(manifest)).toEqual(manifest);
  });

  it('reads null ranges in a layout-2 manifest', () => {
    expect(ManifestSchema.parse(withNull)).toEqual(withNull);
  });

  it('refuses a null range under layout 1, which older readers cannot parse', () => {
    expect(ManifestSchema.safeParse({ ...withNull, format_version: 1 }).success).toBe(false);
  });
});
